"""The company's catalogue search: the sessions of its OPCO's published actions, with what they cost *it*.

Rules held here:

- Only sessions the company may see (``eligibility.visible_sessions_query``: its OPCO, a published action, a
  listed status), starting today or later; filters only narrow that set.
- Full text: every word of the query (lower-cased, accents folded by :func:`fold`) must appear in the
  action's ``search_text`` or in the training organisation's name (``services.search_index``: SQLite FTS5
  trigram tables, PostgreSQL trigram indexes).
- Each row carries the seats left (capacity − durable holders − live waiting-list offers), the funding for
  the company's size band and the first reason why the company cannot enrol (None when it can).

Speed: four statements whatever the number of rows or matches (see bench/README.md, 1 000 000 sessions): the
OPCO's listed action ids with each word's matches in the text index (resolved into plain id lists), one read of the first page ids
and the bounded count in the order asked from a covering index (``ix_training_sessions_search``, or
``ix_training_sessions_by_price``, ``…_by_title``, ``…_by_duration``), the page's rows (``search_rows``), their actions' details. Text search is
narrowed to matching action ids and organisation ids found by the text index, so sessions are never scanned
with LIKE.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain

from sqlalchemy import bindparam, event, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session as OrmSession

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Company,
    Enrolment,
    EnrolmentStatus,
    Modality,
    Organisation,
    Referencing,
    TrainingProvider,
    TrainingSession,
)
from marketplace.services import eligibility, funding, search_index, search_rows
from marketplace.services.enrolment_reads import cancellation_deadline, seats_left
from marketplace.services.funding import Funding
from marketplace.services.identifiers import size_band
from marketplace.services.locking import is_postgresql
from marketplace.services.pagination import paginate_bounded
from marketplace.services.text import search_key

SORTS = {
    "date": "Date de début",
    "price": "Prix",
    "duration": "Durée",
    "title": "Intitulé",
}
PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_WORDS = 8
MAX_PAGE = 10_000
DATE_MIN = date(2000, 1, 1)  # searched dates outside these bounds mean nothing: ignored like a malformed one
DATE_MAX = date(2100, 12, 31)


def fold(text: str | None) -> str:
    """Lower-case, accent-free form of a text (« Sécurité » → « securite »), for portable LIKE searches.

    The same rule as the catalogue service's ``search_key``, which writes ``CollectiveAction.search_text``
    (lower-cased text plus its accent-free copy), so « sécurité » and « securite » find the same actions.
    """
    return search_key(text or "")


def clean_text(value: str | None, max_length: int) -> str:
    """Typed search text made safe for the database: control characters (NUL…) dropped, spaces collapsed, cut.

    A search never refuses its words; what no database column can hold (PostgreSQL refuses NUL) is just left out.
    """
    text = (value or "")[: max_length * 4]
    text = "".join(c for c in text if unicodedata.category(c) != "Cc" or c in " \t\n\r")
    return " ".join(text.split())[:max_length]


def hours_fr(value: Decimal | int | None) -> str:
    """A duration in hours the French way: « 7 h », « 3,5 h »."""
    if value is None:
        return ""
    number = Decimal(value).normalize()
    text = format(number, "f").replace(".", ",")
    return f"{text}\u00a0h"


# --- Filters -------------------------------------------------------------------------------------------------


def _date(value: str | None) -> date | None:
    """An ISO date between 2000 and 2100, else None (9999-12-31 or garbage narrow nothing)."""
    text = (value or "").strip()
    if not text or len(text) > 10:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if DATE_MIN <= day <= DATE_MAX else None


def parse_hours(value: str | None) -> Decimal | None:
    """A number of hours as typed (« 3,5 » or « 3.5 »); None when empty or not a sensible number."""
    text = (value or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() and 0 <= number <= 10_000 else None


def _int(value: str | None, default: int | None = None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else default


@dataclass
class SearchFilters:
    """What the company asked for; invalid values are dropped (the form shows why), never an error page."""

    q: str = ""
    theme: str = ""
    region: str = ""
    modality: str = ""
    date_from: date | None = None
    date_to: date | None = None
    duration_min: Decimal | None = None
    duration_max: Decimal | None = None
    seats_only: bool = False
    provider_id: int | None = None
    sort: str = "date"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> SearchFilters:
        get = args.get
        modality = (get("modality") or "").strip()
        sort = (get("sort") or "").strip()
        return cls(
            q=clean_text(get("q"), 200),
            theme=clean_text(get("theme"), 10),
            region=clean_text(get("region"), 2),
            modality=modality if modality in Modality.LABELS else "",
            date_from=_date(get("date_from")),
            date_to=_date(get("date_to")),
            duration_min=parse_hours(get("duration_min")),
            duration_max=parse_hours(get("duration_max")),
            seats_only=(get("seats_only") or "").strip().lower() in {"1", "y", "on", "true", "oui"},
            provider_id=_int(get("provider_id")),
            sort=sort if sort in SORTS else "date",
            page=min(max(_int(get("page"), 1) or 1, 1), MAX_PAGE),
            per_page=min(max(_int(get("per_page"), PER_PAGE) or PER_PAGE, 1), MAX_PER_PAGE),
        )

    def to_args(self) -> dict[str, str]:
        """The non-default filters as URL arguments (without the page), for links that keep the search."""
        defaults = SearchFilters()
        args: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "page" or value == getattr(defaults, f.name) or value in (None, ""):
                continue
            if isinstance(value, bool):
                args[f.name] = "1"
            elif isinstance(value, date):
                args[f.name] = value.isoformat()
            else:
                args[f.name] = str(value)
        return args

    @property
    def words(self) -> list[str]:
        """The query's words, lower-cased (accents kept: both forms are searched)."""
        return self.q.lower().split()[:MAX_WORDS]

    @property
    def narrowed(self) -> bool:
        """True when something beyond the default listing was asked (to word the empty state)."""
        return bool(self.to_args().keys() - {"sort", "per_page"})


# --- Results -------------------------------------------------------------------------------------------------


@dataclass
class SearchRow:
    session: TrainingSession
    action: CollectiveAction
    provider: TrainingProvider
    seats_left: int
    funding: Funding
    blocker: str | None

    @property
    def can_enrol(self) -> bool:
        return self.blocker is None


@dataclass
class SearchResult:
    rows: list[SearchRow]
    total: int
    page: int
    pages: int
    # Training organisations referenced by the company's OPCO (id, name), for the filter's choices.
    providers: list[tuple[int, str]] = field(default_factory=list)
    # More than COUNT_LIMIT sessions match: ``total`` is not exact (« plus de 1 000 »).
    more: bool = False
    # The company's OPCO's name (read with the rows; from the company's OPCO when there are none).
    opco_name: str = ""


# The training organisations an OPCO references change rarely (a new referencing): the list is kept per
# process for a minute, and forgotten at once when this process writes a referencing or an organisation.
PROVIDERS_EXPIRY_SECONDS = 60
_providers_cache: dict[tuple[str, int], tuple[float, list[tuple[int, str]]]] = {}


def opco_providers(opco_id: int | None) -> list[tuple[int, str]]:
    """Training organisations referenced on at least one action of the OPCO, by name (the filter's choices;
    one query, then kept: see ``PROVIDERS_EXPIRY_SECONDS``). The list is shared: do not change it."""
    if opco_id is None:
        return []
    key = (str(db.engine.url), opco_id)
    hit = _providers_cache.get(key)
    now = time.monotonic()
    if hit is None or now - hit[0] > PROVIDERS_EXPIRY_SECONDS:
        rows = db.session.execute(
            select(TrainingProvider.id, TrainingProvider.name)
            .where(
                TrainingProvider.id.in_(select(Referencing.provider_id).where(Referencing.opco_id == opco_id))
            )
            .order_by(TrainingProvider.name, TrainingProvider.id)
        ).all()
        hit = (now, sorted_fr([(int(pid), name) for pid, name in rows], key=lambda row: row[1]))
        _providers_cache[key] = hit
    return hit[1]


def forget_providers() -> None:
    """Empty the kept lists (after writes that bypass the ORM, e.g. ``services.generate``)."""
    _providers_cache.clear()


@event.listens_for(OrmSession, "after_flush")
def _forget_providers(session, flush_context) -> None:
    if _providers_cache and any(
        isinstance(o, (Referencing, Organisation)) for o in chain(session.new, session.dirty, session.deleted)
    ):
        _providers_cache.clear()


def _live_offers(opco_id: int, now: datetime) -> dict[int, list[int]]:
    """The OPCO's sessions holding live waiting-list offers, grouped by how many they hold (one, almost
    always): read from the offers' partial index alone, so that the search's scan, which has each session's
    capacity and seats in its own index, checks « a seat left beyond the offers » against plain lists."""
    by_count: dict[int, list[int]] = {}
    for session_id, offers in db.session.execute(_LIVE_OFFERS, {"opco_id": opco_id, "now": now}).all():
        by_count.setdefault(offers, []).append(session_id)
    return by_count


_LIVE_OFFERS = (
    select(Enrolment.session_id, func.count())
    .where(
        Enrolment.opco_id == bindparam("opco_id"),
        Enrolment.status == EnrolmentStatus.OFFERED,
        Enrolment.offer_expires_at > bindparam("now"),
    )
    .group_by(Enrolment.session_id)
)


def _id_list(ids: list[int]):
    """A list of ids written into the statement as plain integers: the database sees their number and checks
    them against a hashed set (a bound sub-select or array is planned blind)."""
    return literal_column("(" + ",".join(str(int(i)) for i in ids) + ")")


@dataclass
class _Listing:
    """What the search's scan checks, resolved beforehand into plain id lists (see ``_listed``)."""

    actions: list[int]
    # Words found in some of the listed actions and in some training organisations' names: a session matches
    # such a word through its action or its organisation, (action ids, organisation ids) per word.
    either: list[tuple[list[int], list[int]]] = field(default_factory=list)


def _listed(company: Company, filters: SearchFilters) -> _Listing:
    """The OPCO's published actions matching the action filters and the words, in one statement.

    Each word is looked up in the text index, among the listed actions and the organisations' names. Then, in Python: a word in no organisation's name narrows the action list; a word
    in every listed action (a stop word, a letter) asks nothing more; the others keep « action or
    organisation ». The scan of the sessions then only checks ids against plain lists, which the database
    plans knowing their size, and a word found nowhere answers « no result » without scanning anything.
    """
    A = CollectiveAction
    actions = select(A.id).where(A.opco_id == company.opco_id, A.status == ActionStatus.PUBLISHED)
    if filters.theme:
        actions = actions.where(A.theme_code == filters.theme)
    if filters.modality:
        actions = actions.where(A.modality == filters.modality)
    if filters.duration_min is not None:
        actions = actions.where(A.duration_hours >= filters.duration_min)
    if filters.duration_max is not None:
        actions = actions.where(A.duration_hours <= filters.duration_max)
    words = filters.words
    if not words:
        return _Listing(list(db.session.scalars(actions)))
    # One row per list, its ids aggregated by the database: a common word matches thousands of actions and
    # organisations, which as rows cost more to read than to find.
    postgresql = is_postgresql()
    ids = func.array_agg if postgresql else func.group_concat
    parts = [actions.with_only_columns(literal(0).label("word"), ids(A.id))]
    for index, word in enumerate(words, 1):
        parts.append(
            actions.with_only_columns(literal(-index), ids(A.id)).where(search_index.action_condition(word))
        )
        names = search_index.organisations_matching(word).subquery()
        parts.append(select(literal(index), ids(list(names.c)[0])))
    found: dict[int, set[int]] = {}
    for word, aggregated in db.session.execute(union_all(*parts)).all():
        if aggregated:
            found[word] = set(aggregated) if postgresql else set(map(int, aggregated.split(",")))
    listed = found.get(0, set())
    by_word = [(found.get(-i, set()), found.get(i, set())) for i in range(1, len(words) + 1)]
    for in_actions, in_names in by_word:
        if not in_names:
            listed &= in_actions
    either = [
        (sorted(in_actions & listed), sorted(in_names))
        for in_actions, in_names in by_word
        if in_names and not listed <= in_actions
    ]
    if not listed:
        return _Listing([])
    return _Listing(sorted(listed), either)


def _filtered(company: Company, filters: SearchFilters, listing: _Listing, today: date, now: datetime):
    """The visible sessions matching the filters (``eligibility.visible_sessions_query``'s rule: the company's
    OPCO, a listed status, a published action), as one scan of a covering index in the order asked.

    The actions are given as their ids, written into the statement: the database then checks them against a
    hashed set while it reads the index in order, and stops at the rows it needs, where a join or a sub-select
    made PostgreSQL look up the action of every session or read them all to sort them. Sorting on the
    action's title or duration reads the sessions' copies of them (``TrainingSession.action_title``…), in
    order from their indexes.
    """
    S = TrainingSession
    start = max(filters.date_from or today, today)
    query = select(S).where(
        S.opco_id == company.opco_id,
        S.status.in_(eligibility.VISIBLE_STATUSES),
        S.action_id.op("IN")(_id_list(listing.actions)),
        S.start_date >= start,
    )
    if filters.date_to is not None:
        query = query.where(S.start_date <= filters.date_to)
    if filters.region:
        query = query.where(S.region_code == filters.region)
    if filters.provider_id is not None:
        query = query.where(S.provider_id == filters.provider_id)
    if filters.seats_only:
        query = query.where(S.capacity_max > S.seats_held)
        for offers, session_ids in _live_offers(company.opco_id, now).items():
            query = query.where(
                or_(S.id.op("NOT IN")(_id_list(session_ids)), S.capacity_max - S.seats_held > offers)
            )
    for in_actions, in_names in listing.either:
        by_name = S.provider_id.op("IN")(_id_list(in_names))
        query = query.where(
            or_(S.action_id.op("IN")(_id_list(in_actions)), by_name) if in_actions else by_name
        )
    return query


def _order(sort: str):
    """Each sort, then the start date and the id: the columns of one index, read in that order."""
    S = TrainingSession
    return {
        "date": (S.start_date, S.id),
        "price": (S.price_cents, S.start_date, S.id),
        "duration": (S.action_duration_hours, S.start_date, S.id),
        "title": (S.action_title, S.start_date, S.id),
    }[sort]


def rows_for(company: Company, page: search_rows.PageSessions, today: date) -> list[SearchRow]:
    """Rows for the company (seats, funding, first blocker), from the page's loaded sessions (no query)."""
    band = size_band(company.headcount)
    rows = []
    for session in page.sessions:
        left = max(0, session.capacity_max - session.seats_held - page.offers.get(session.id, 0))
        rows.append(
            SearchRow(
                session=session,
                action=session.action,
                provider=session.provider,
                seats_left=left,
                funding=funding.for_session(session, band, company),
                blocker=eligibility.first_blocker(company, session, today, page.counts),
            )
        )
    return rows


# The count of matching sessions stops there: past it the page says « plus de 1 000 » (an exact count of
# every visible session of a national OPCO costs more than the page itself).
COUNT_LIMIT = 1000


def search_sessions(company: Company, filters: SearchFilters, today: date, now: datetime) -> SearchResult:
    """One page of the sessions the company may enrol on, matching the filters, with its own figures.

    A page past the end shows the last one (``pagination.paginate`` clamps it).
    """
    if company.opco_id is None:
        return SearchResult([], 0, 1, 0)
    providers = opco_providers(company.opco_id)
    listing = _listed(company, filters)
    if not listing.actions:
        return SearchResult([], 0, 1, 0, providers, opco_name=company.opco.name)
    query = _filtered(company, filters, listing, today, now)
    ids = paginate_bounded(
        query.with_only_columns(TrainingSession.id).order_by(*_order(filters.sort)),
        filters.page,
        filters.per_page,
        COUNT_LIMIT,
    )
    page = search_rows.load(company, ids.items, now)
    pages = ids.pages if ids.total else 0
    return SearchResult(
        rows_for(company, page, today),
        ids.total,
        ids.page,
        pages,
        providers,
        more=ids.more,
        opco_name=page.opco.name if page.opco else company.opco.name,
    )


# --- One session -----------------------------------------------------------------------------------------------


@dataclass
class SessionOffer:
    """A session as the company sees it: seats left, its funding, and every reason it cannot enrol."""

    session: TrainingSession
    seats_left: int
    funding: Funding
    reasons: list[str]
    cancellation_deadline: date

    @property
    def blocker(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    @property
    def can_enrol(self) -> bool:
        return not self.reasons


def session_offer(company: Company, session_id: int, today: date, now: datetime) -> SessionOffer | None:
    """The session if the company may see it (else None: answer 404), with the company's figures."""
    session = eligibility.session_for_company(company, session_id)
    if session is None:
        return None
    counts = eligibility.company_counts(company, [session])
    return SessionOffer(
        session=session,
        seats_left=seats_left(session, now),
        funding=funding.for_session(session, size_band(company.headcount), company),
        reasons=eligibility.blockers(company, session, today, counts),
        cancellation_deadline=cancellation_deadline(session),
    )
