"""Lists of calls for tenders: the OPCO's own, per status, and the published ones every training organisation
reads (kept apart from ``tenders``, which builds one tender and changes its status).

Rules held here:

- Training organisations see published (and later) tenders of every OPCO, never drafts.
- A list filters, orders and counts by the status a tender has at ``now``
  (``tender_states.effective_status_sql``): a published tender past its submission deadline is listed as
  closed even before the stored status catches up. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, exists, false, func, or_, select

from marketplace.extensions import db
from marketplace.formatting import paris_to_utc
from marketplace.models import Opco, Tender, TenderLot, TenderStatus, utcnow
from marketplace.services.pagination import Page, paginate
from marketplace.services.tender_states import effective_status_sql

T = TenderStatus

PER_PAGE = 20


# --- The OPCO's tenders -----------------------------------------------------------------------------


def status_counts(opco_id: int, now: datetime | None = None) -> dict[str, int]:
    """Number of the OPCO's tenders per status, as they are at ``now`` (a tender past its deadline is closed)."""
    shown = effective_status_sql(now or utcnow())
    return dict(
        db.session.execute(
            select(shown, func.count(Tender.id)).where(Tender.opco_id == opco_id).group_by(shown)
        ).all()
    )


def opco_tenders(opco_id: int, status: str = "", now: datetime | None = None) -> list[Tender]:
    """The OPCO's tenders, drafts first, then the open ones, then the others, latest deadline first; ``status``
    filters on the status at ``now`` (a published tender past its deadline is listed as closed)."""
    shown = effective_status_sql(now or utcnow())
    query = select(Tender).where(Tender.opco_id == opco_id)
    if status:
        query = query.where(shown == status)
    order = case((shown == T.DRAFT, 0), (shown == T.PUBLISHED, 1), else_=2)
    return list(
        db.session.scalars(query.order_by(order, Tender.submission_deadline.desc(), Tender.id.desc()))
    )


# --- What training organisations read ---------------------------------------------------------------


@dataclass
class TenderFilters:
    opco_id: int | None = None
    theme_code: str | None = None
    region_code: str | None = None  # lots in that region, and national lots
    deadline_before: date | None = None  # submission deadline on or before that day (Paris)
    only_open: bool = True
    page: int = 1


VISIBLE = (T.PUBLISHED, T.CLOSED, T.UNDER_ANALYSIS, T.AWARDED, T.UNSUCCESSFUL)


def published_tenders(
    filters: TenderFilters, now: datetime | None = None, per_page: int = PER_PAGE
) -> Page[Tender]:
    """Published (and later) tenders of every OPCO, filtered and paginated: a constant number of queries
    whatever the number of rows. Open ones first (soonest deadline first); a tender whose deadline has come is
    among the closed ones even before the stored status catches up."""
    now = now or utcnow()
    query = select(Tender).where(Tender.status.in_(VISIBLE))
    if filters.opco_id:
        # An id beyond the database's integers names no OPCO (and would overflow the query).
        query = query.where(
            Tender.opco_id == filters.opco_id if filters.opco_id <= 2_147_483_647 else false()
        )
    if filters.theme_code:
        query = query.where(
            exists().where(TenderLot.tender_id == Tender.id, TenderLot.theme_code == filters.theme_code)
        )
    if filters.region_code:
        query = query.where(
            exists().where(
                TenderLot.tender_id == Tender.id,
                or_(TenderLot.region_code == filters.region_code, TenderLot.region_code.is_(None)),
            )
        )
    if filters.deadline_before and filters.deadline_before < date(9999, 12, 30):  # beyond: filters nothing
        end_of_day = paris_to_utc(datetime.combine(filters.deadline_before + timedelta(days=1), time()))
        query = query.where(Tender.submission_deadline < end_of_day)
    shown = effective_status_sql(now)
    if filters.only_open:
        query = query.where(shown == T.PUBLISHED)
    open_first = case((shown == T.PUBLISHED, 0), else_=1)
    soonest_open = case((shown == T.PUBLISHED, Tender.submission_deadline))
    return paginate(
        query.order_by(open_first, soonest_open, Tender.submission_deadline.desc(), Tender.id),
        filters.page,
        per_page,
    )


def tender_for_provider(tender_id: int, now: datetime | None = None) -> Tender | None:
    """A tender any training organisation may read (published or later); None for a draft or an unknown id
    (answered as 404). Nothing is written: read its status through ``effective_status``."""
    return db.session.scalar(select(Tender).where(Tender.id == tender_id, Tender.status.in_(VISIBLE)))


def opcos_with_tenders() -> list[Opco]:
    """OPCOs having at least one visible tender (the OPCO filter of the providers' list)."""
    return list(
        db.session.scalars(
            select(Opco)
            .where(exists().where(Tender.opco_id == Opco.id, Tender.status.in_(VISIBLE)))
            .order_by(Opco.name)
        )
    )
