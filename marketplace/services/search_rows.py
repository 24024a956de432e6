"""The sessions of one catalogue page as plain read-only rows: only the columns the page and the
eligibility chain read, in three statements whatever the page's size, without the ORM.

The objects carry the attribute names of the models (``session.action.title``,
``session.provider.qualiopi_expires_on``, ``action.share_for(band)``…), so ``eligibility.first_blocker`` and
``funding.for_session`` run on them unchanged: a catalogue row says exactly what the session's page says.
They are never added to the database session and nothing can be changed through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, String, bindparam, cast, func, literal, null, select, union_all

from marketplace.extensions import db
from marketplace.models import (
    ActionBranch,
    ActionRegion,
    CollectiveAction,
    Company,
    Enrolment,
    EnrolmentStatus,
    FundingShare,
    Opco,
    Organisation,
    Referencing,
    Region,
    TrainingProvider,
    TrainingSession,
)
from marketplace.services.eligibility import COUNTED_FOR_CAPS, CompanyCounts


class RegionName(NamedTuple):
    code: str
    name: str


class ActionRegionRow(NamedTuple):
    """Like ``ActionRegion``: ``region_code`` and ``region.name``."""

    region_code: str
    region: RegionName


class OpcoRef:
    """The sessions' OPCO as the chain reads it: its funding basis and name from the page's statement, anything
    else (rarely read: its branches) from the company's OPCO, loaded only then."""

    __slots__ = ("funding_basis", "name", "_company")

    def __init__(self, funding_basis: str | None, name: str, company: Company) -> None:
        self.funding_basis = funding_basis
        self.name = name
        self._company = company

    def __getattr__(self, name: str):
        return getattr(self._company.opco, name)


@dataclass(slots=True)
class ListedAction:
    id: int
    opco_id: int
    title: str
    modality: str
    duration_hours: Decimal
    campaign_year: int
    is_national: bool
    cap_per_company_per_session: int | None
    cap_per_company_per_year: int | None
    funding_basis: str | None
    status: str
    opco: Any  # OpcoRef: the company's OPCO (its catalogue's sessions are all of that OPCO)
    idcc_codes: list[str] = field(default_factory=list)
    regions: list[ActionRegionRow] = field(default_factory=list)
    shares: dict[str, int] = field(default_factory=dict)

    @property
    def region_codes(self) -> list[str]:
        return [r.region_code for r in self.regions]

    @property
    def region_names(self) -> list[str]:
        return [r.region.name for r in self.regions]

    def share_for(self, size_band: str) -> int | None:
        return self.shares.get(size_band)


@dataclass(slots=True)
class ListedProvider:
    id: int
    name: str
    vat_regime: str
    postal_code: str
    qualiopi_categories: str
    qualiopi_expires_on: date

    @property
    def qualiopi_category_list(self) -> list[str]:
        return self.qualiopi_categories.split()


@dataclass(slots=True)
class ListedReferencing:
    id: int
    status: str
    status_reason: str | None


@dataclass(slots=True)
class ListedSession:
    id: int
    action_id: int
    provider_id: int
    opco_id: int
    referencing_id: int
    status: str
    start_date: date
    end_date: date
    registration_deadline: date
    capacity_max: int
    seats_held: int
    is_remote: bool
    postal_code: str
    city: str
    region_code: str | None
    price_cents: int
    action: ListedAction
    provider: ListedProvider
    referencing: ListedReferencing


@dataclass
class PageSessions:
    """The page's sessions in the order asked, the company's counts for the chain, the live offers."""

    sessions: list[ListedSession]
    counts: CompanyCounts
    offers: dict[int, int]
    opco: OpcoRef | None = None  # None when there are no sessions


def _same_siren():
    """The company's establishments (its SIREN), named by the ``siren`` parameter."""
    return select(Company.id).where(Company.siren == bindparam("siren")).scalar_subquery()


@cache
def _sessions_statement() -> Select:
    """The page's sessions with what their rows show, built once per process (parameters: ``ids``, ``now``,
    ``siren``): building this 35-column select cost more than running it."""
    S, A, P, Org, R, E = (
        TrainingSession,
        CollectiveAction,
        TrainingProvider,
        Organisation,
        Referencing,
        Enrolment,
    )
    # The company's OPCO (every session of its catalogue is of that OPCO), read once by sub-selects: two more
    # joins made PostgreSQL spend 6 ms planning the statement's join order, against 2 ms without them.
    opco_table, opco_organisation = Opco.__table__, Organisation.__table__.alias("opco_organisations")
    opco_basis = (
        select(opco_table.c.funding_basis).where(opco_table.c.id == bindparam("opco_id")).scalar_subquery()
    )
    opco_name = (
        select(opco_organisation.c.name)
        .where(opco_organisation.c.id == bindparam("opco_id"))
        .scalar_subquery()
    )
    offers = (
        select(func.count(E.id))
        .where(
            E.session_id == S.id, E.status == EnrolmentStatus.OFFERED, E.offer_expires_at > bindparam("now")
        )
        .scalar_subquery()
    )
    used = (
        select(func.count(E.id))
        .where(E.session_id == S.id, E.company_id.in_(_same_siren()), E.status.in_(COUNTED_FOR_CAPS))
        .scalar_subquery()
    )
    return (
        select(
            S.id,
            S.action_id,
            S.provider_id,
            S.opco_id,
            S.referencing_id,
            S.status,
            S.start_date,
            S.end_date,
            S.registration_deadline,
            S.capacity_max,
            S.seats_held,
            S.is_remote,
            S.postal_code,
            S.city,
            S.region_code,
            S.price_cents,
            A.title,
            A.modality,
            A.duration_hours,
            A.campaign_year,
            A.is_national,
            A.cap_per_company_per_session,
            A.cap_per_company_per_year,
            A.funding_basis,
            A.status,
            Org.name,
            P.vat_regime,
            P.postal_code,
            P.qualiopi_categories,
            P.qualiopi_expires_on,
            R.status,
            R.status_reason,
            offers,
            used,
            opco_basis,
            opco_name,
        )
        .select_from(S)
        .join(A, A.id == S.action_id)
        .join(P.__table__, P.id == S.provider_id)
        .join(Org.__table__, Org.id == S.provider_id)
        .join(R, R.id == S.referencing_id)
        .where(S.id.in_(bindparam("ids", expanding=True)))
    )


def load(company: Company, ids: list[int], now: datetime) -> PageSessions:
    """The sessions ``ids`` (already known visible to the company) with what their rows show."""
    if not ids:
        return PageSessions([], CompanyCounts({}, {}, {}), {})
    rows = db.session.execute(
        _sessions_statement(), {"ids": ids, "now": now, "siren": company.siren, "opco_id": company.opco_id}
    ).all()
    opco = OpcoRef(rows[0][34], rows[0][35], company) if rows else None
    actions: dict[int, ListedAction] = {}
    providers: dict[int, ListedProvider] = {}
    by_id: dict[int, ListedSession] = {}
    live_offers: dict[int, int] = {}
    per_session: dict[int, int] = {}
    for row in rows:
        (
            sid,
            action_id,
            provider_id,
            opco_id,
            referencing_id,
            status,
            start,
            end,
            deadline,
            capacity,
            held,
        ) = row[:11]
        action = actions.get(action_id)
        if action is None:
            action = actions[action_id] = ListedAction(action_id, opco_id, *row[16:25], opco=opco)
        provider = providers.get(provider_id)
        if provider is None:
            provider = providers[provider_id] = ListedProvider(provider_id, *row[25:30])
        by_id[sid] = ListedSession(
            sid,
            action_id,
            provider_id,
            opco_id,
            referencing_id,
            status,
            start,
            end,
            deadline,
            capacity,
            held,
            *row[11:16],
            action=action,
            provider=provider,
            referencing=ListedReferencing(referencing_id, row[30], row[31]),
        )
        if row[32]:
            live_offers[sid] = row[32]
        if row[33]:
            per_session[sid] = row[33]
    per_action = _action_details(actions, company.siren)
    sessions = [by_id[i] for i in ids if i in by_id]
    counts = CompanyCounts(per_session, per_action, {s.referencing_id: s.referencing for s in sessions})
    return PageSessions(sessions, counts, live_offers, opco)


@cache
def _details_statement() -> Select:
    """Branches, regions, shares and the company's places per action (parameters: ``ids``, ``siren``), built
    once per process."""
    B, AR, F, S, E = ActionBranch, ActionRegion, FundingShare, TrainingSession, Enrolment
    no_text, no_number = cast(null(), String), cast(null(), Integer)
    ids = bindparam("ids", expanding=True)
    return union_all(
        select(B.action_id, literal("b"), B.idcc, no_text, no_number).where(B.action_id.in_(ids)),
        select(AR.action_id, literal("r"), AR.region_code, Region.name, no_number)
        .join(Region, Region.code == AR.region_code)
        .where(AR.action_id.in_(ids)),
        select(F.action_id, literal("s"), F.size_band, no_text, F.percent).where(F.action_id.in_(ids)),
        select(S.action_id, literal("c"), no_text, no_text, func.count(E.id))
        .join(E, E.session_id == S.id)
        # ``+ 0``: read from the company's few enrolments, never from every session of the actions.
        .where(E.company_id.in_(_same_siren()), (S.action_id + 0).in_(ids), E.status.in_(COUNTED_FOR_CAPS))
        .group_by(S.action_id),
    )


def _action_details(actions: dict[int, ListedAction], siren: str) -> dict[int, int]:
    """Branches, regions (with their names) and funding shares of the actions, and the places the company
    (its whole SIREN) holds per action for the yearly caps, in one statement. Returns the places."""
    rows = db.session.execute(_details_statement(), {"ids": list(actions), "siren": siren}).all()
    per_action: dict[int, int] = {}
    for action_id, kind, code, name, number in rows:
        action = actions[action_id]
        if kind == "b":
            action.idcc_codes.append(code)
        elif kind == "r":
            action.regions.append(ActionRegionRow(code, RegionName(code, name)))
        elif kind == "s":
            action.shares[code] = number
        else:
            per_action[action_id] = number
    return per_action
