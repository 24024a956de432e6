"""OPCO « Pilotage »: the figures of its catalogue, aggregated in SQL, filtered and broken down.

Every figure reads only the OPCO's own rows (``opco_id`` on sessions, enrolments and invoices), whatever the
filters; a filter value that is not among the OPCO's own choices is dropped (:func:`clean`). The page runs a
fixed number of statements (one ``GROUP BY`` per figure family and breakdown) whatever the rows.

Definitions (also shown on the page, « Définitions »):

- **Inscriptions**: enrolments that took a trainee's seat — confirmed, convoked, in training, with an outcome
  or closed (not the requests awaiting approval, the waiting list, cancelled or refused ones).
  **Stagiaires**: distinct employees among them.
- **Sessions tenues**: sessions realised (« réalisée ») or closed at service fait; **annulées**: cancelled.
- **Taux de remplissage**: seats taken ÷ maximum capacity, over the sessions held.
- **Heures-stagiaires prévues / réalisées**: the minutes planned and attended frozen on each enrolment
  closed at service fait (absent trainees count their planned hours, none done).
  **Taux de réalisation**: réalisées ÷ prévues.
- **Engagé**: the OPCO's share (prise en charge, TTC when the OPCO funds the TTC price) frozen on each
  inscription.
- **Réalisé**: what the training organisations invoiced to the OPCO after service fait (TTC), invoices issued,
  in control or paid, less their credit notes; rejected and cancelled invoices do not count.
- **Payé**: the OPCO's invoices paid (TTC).
- **Coût par heure-stagiaire HT**: réalisé HT ÷ heures-stagiaires réalisées.

Session filters (year of campaign, region of the session — « à distance » for a remote one —, theme, training
organisation, action, month of the session's start) apply to every figure; company filters (branch, size
band) apply to the trainees' figures and amounts, not to the sessions' (a session has no branch). Amounts
filtered by branch or size band count the invoice lines charging a trainee (a group price line or a partial
credit note names none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, distinct, extract, func, or_, select
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.models import (
    CollectiveAction,
    Company,
    Enrolment,
    EnrolmentStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Opco,
    OpcoBranch,
    Referencing,
    SessionStatus,
    Theme,
    TrainingProvider,
    TrainingSession,
)
from marketplace.services import reference_lists
from marketplace.services.identifiers import SIZE_BANDS

REMOTE = "distance"  # the « region » of a remote session
HELD = (SessionStatus.COMPLETED, SessionStatus.DELIVERED)
COUNTED = (*InvoiceStatus.OPEN, InvoiceStatus.PAID)  # invoices whose amount the OPCO owes or paid
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin",
          "juillet", "août", "septembre", "octobre", "novembre", "décembre")  # fmt: skip
ACTION_CHOICES_LIMIT = 2000


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    idcc: str | None = None
    region: str | None = None
    theme: str | None = None
    band: str | None = None
    provider_id: int | None = None
    action_id: int | None = None
    month: str | None = None  # « 2026-03 », from a drill-down link

    def args(self, **extra) -> dict:
        """The filters as URL parameters (the names of the form's fields)."""
        values = {
            "annee": self.year,
            "branche": self.idcc,
            "region": self.region,
            "theme": self.theme,
            "taille": self.band,
            "of": self.provider_id,
            "action": self.action_id,
            "mois": self.month,
            **extra,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def by_company(self) -> bool:
        return bool(self.idcc or self.band)


@dataclass
class Choices:
    """What the OPCO may filter on: its campaigns, branches, themes, organisations and actions."""

    years: list[int]
    branches: list[tuple[str, str]]
    regions: list[tuple[str, str]]
    themes: list[tuple[str, str]]
    bands: list[tuple[str, str]]
    providers: list[tuple[int, str]]
    actions: list[tuple[int, str]]


def choices(opco: Opco) -> Choices:
    years = db.session.scalars(
        select(CollectiveAction.campaign_year)
        .where(CollectiveAction.opco_id == opco.id)
        .distinct()
        .order_by(CollectiveAction.campaign_year.desc())
    ).all()
    branches = db.session.scalars(
        select(OpcoBranch).where(OpcoBranch.opco_id == opco.id).order_by(OpcoBranch.idcc)
    ).all()
    themes = db.session.execute(
        select(Theme.code, Theme.label)
        .where(Theme.code.in_(select(CollectiveAction.theme_code).where(CollectiveAction.opco_id == opco.id)))
        .order_by(Theme.code)
    ).all()
    providers = db.session.execute(
        select(TrainingProvider.id, TrainingProvider.name)
        .where(TrainingProvider.id.in_(select(Referencing.provider_id).where(Referencing.opco_id == opco.id)))
        .order_by(TrainingProvider.name, TrainingProvider.id)
    ).all()
    actions = db.session.execute(
        select(CollectiveAction.id, CollectiveAction.reference, CollectiveAction.title)
        .where(CollectiveAction.opco_id == opco.id)
        .order_by(CollectiveAction.reference)
        .limit(ACTION_CHOICES_LIMIT)
    ).all()
    return Choices(
        years=list(years),
        branches=[(b.idcc, f"{b.idcc} – {b.branch.label}") for b in branches],
        regions=[*((r.code, r.name) for r in reference_lists.regions()), (REMOTE, "À distance")],
        themes=[(code, f"{code} – {label}") for code, label in themes],
        bands=[(code, label) for code, label, *_ in SIZE_BANDS],
        providers=[(pid, name) for pid, name in providers],
        actions=[(aid, f"{ref} – {title}") for aid, ref, title in actions],
    )


def _month_ok(raw: str | None) -> bool:
    if not raw or len(raw) != 7 or raw[4] != "-" or not (raw[:4] + raw[5:]).isdigit():
        return False
    return 2000 <= int(raw[:4]) <= 2100 and 1 <= int(raw[5:]) <= 12


def clean(raw: Filters, known: Choices) -> Filters:
    """Keep each filter value only when it is one of the OPCO's own choices (another OPCO's action or
    organisation, an unknown code: dropped, the figures are then the unfiltered ones)."""

    def keep(value, options):
        return value if value is not None and value in {key for key, _ in options} else None

    return Filters(
        year=raw.year if raw.year in known.years else None,
        idcc=keep(raw.idcc, known.branches),
        region=keep(raw.region, known.regions),
        theme=keep(raw.theme, known.themes),
        band=keep(raw.band, known.bands),
        provider_id=keep(raw.provider_id, known.providers),
        action_id=keep(raw.action_id, known.actions),
        month=raw.month if _month_ok(raw.month) else None,
    )


# --- Conditions ---------------------------------------------------------------------------------------------


def session_conditions(opco_id: int, f: Filters) -> list:
    """On TrainingSession (joined to its CollectiveAction)."""
    where = [TrainingSession.opco_id == opco_id, CollectiveAction.opco_id == opco_id]
    if f.year is not None:
        where.append(CollectiveAction.campaign_year == f.year)
    if f.theme:
        where.append(CollectiveAction.theme_code == f.theme)
    if f.region == REMOTE:
        where.append(TrainingSession.region_code.is_(None))
    elif f.region:
        where.append(TrainingSession.region_code == f.region)
    if f.provider_id is not None:
        where.append(TrainingSession.provider_id == f.provider_id)
    if f.action_id is not None:
        where.append(TrainingSession.action_id == f.action_id)
    if f.month:
        first = date(int(f.month[:4]), int(f.month[5:]), 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        where += [TrainingSession.start_date >= first, TrainingSession.start_date < following]
    return where


def enrolment_conditions(opco_id: int, f: Filters) -> list:
    """On Enrolment (joined to its session, action and company): the inscriptions behind the figures."""
    where = [
        Enrolment.opco_id == opco_id,
        Enrolment.status.in_(EnrolmentStatus.TRAINEES),
        *session_conditions(opco_id, f),
    ]
    if f.band:
        where.append(Enrolment.size_band == f.band)
    if f.idcc:
        where.append(Company.idcc == f.idcc)
    return where


def enrolments_from(query, f: Filters):
    """Joins an enrolment's session and action (and its company when the branch filters)."""
    query = query.join(TrainingSession, TrainingSession.id == Enrolment.session_id).join(
        CollectiveAction, CollectiveAction.id == TrainingSession.action_id
    )
    return query.join(Company, Company.id == Enrolment.company_id) if f.idcc else query


def sessions_from(query):
    return query.join(CollectiveAction, CollectiveAction.id == TrainingSession.action_id)


Credited = aliased(Invoice, name="credited")


def invoice_conditions(opco_id: int, f: Filters) -> list:
    """On Invoice (joined to its session, action, the invoice a credit note credits): the OPCO's invoices."""
    return [Invoice.opco_id == opco_id, Invoice.payer == "opco", *session_conditions(opco_id, f)]


def realised_condition():
    return or_(
        and_(Invoice.kind == InvoiceKind.INVOICE, Invoice.status.in_(COUNTED)),
        and_(
            Invoice.kind == InvoiceKind.CREDIT_NOTE,
            Invoice.status != InvoiceStatus.DRAFT,
            Credited.status.in_(COUNTED),
        ),
    )


def paid_condition():
    return and_(Invoice.kind == InvoiceKind.INVOICE, Invoice.status == InvoiceStatus.PAID)


def invoices_from(query):
    """Joins an invoice's session, action and the invoice a credit note credits (for its status)."""
    return (
        query.join(TrainingSession, TrainingSession.id == Invoice.session_id)
        .join(CollectiveAction, CollectiveAction.id == TrainingSession.action_id)
        .outerjoin(Credited, Credited.id == Invoice.credited_invoice_id)
    )


# --- Figures ------------------------------------------------------------------------------------------------


def _ratio_pct(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Figures:
    enrolments: int = 0
    trainees: int = 0
    closed: int = 0
    planned_minutes: int = 0
    done_minutes: int = 0
    committed_cents: int = 0
    sessions_held: int = 0
    sessions_cancelled: int = 0
    capacity: int = 0
    seats: int = 0
    realised_cents: int = 0
    realised_ht_cents: int = 0
    paid_cents: int = 0

    @property
    def fill_pct(self) -> Decimal | None:
        return _ratio_pct(self.seats, self.capacity)

    @property
    def realisation_pct(self) -> Decimal | None:
        return _ratio_pct(self.done_minutes, self.planned_minutes)

    @property
    def cost_per_hour_cents(self) -> int | None:
        """Réalisé HT per trainee-hour done, to the cent (half up)."""
        if not self.done_minutes:
            return None
        return (self.realised_ht_cents * 60 * 2 + self.done_minutes) // (2 * self.done_minutes)


@dataclass
class Row:
    key: str
    label: str
    figures: Figures
    filter: dict  # the filter that narrows the figures to this row (drill-down)


@dataclass
class Report:
    filters: Filters
    totals: Figures
    breakdowns: dict[str, list[Row]] = field(default_factory=dict)


DIMENSIONS = ("month", "region", "band", "provider")


def _session_key(dimension: str):
    if dimension == "month":
        return (extract("year", TrainingSession.start_date), extract("month", TrainingSession.start_date))
    if dimension == "region":
        return (TrainingSession.region_code,)
    if dimension == "provider":
        return (TrainingSession.provider_id,)
    return ()


def _key(dimension: str | None):
    if dimension is None:
        return ()
    if dimension == "band":
        return (Enrolment.size_band,)
    return _session_key(dimension)


def _key_text(dimension: str, values: tuple) -> str:
    if dimension == "month":
        return f"{int(values[0]):04d}-{int(values[1]):02d}"
    if dimension == "region":
        return values[0] or REMOTE
    return "" if values[0] is None else str(values[0])


def _grouped(query, columns: tuple, dimension: str | None):
    if columns:
        query = query.group_by(*columns)
    rows = db.session.execute(query).all()
    n = len(columns)
    return {(_key_text(dimension, tuple(row[:n])) if dimension else ""): row[n:] for row in rows}


def _enrolment_figures(opco_id: int, f: Filters, dimension: str | None) -> dict:
    closed = Enrolment.status == EnrolmentStatus.CLOSED
    columns = _key(dimension)
    query = enrolments_from(
        select(
            *columns,
            func.count(Enrolment.id),
            func.count(distinct(Enrolment.employee_id)),
            func.count(case((closed, Enrolment.id))),
            func.coalesce(func.sum(case((closed, Enrolment.planned_minutes), else_=0)), 0),
            func.coalesce(func.sum(case((closed, Enrolment.attended_minutes), else_=0)), 0),
            func.coalesce(func.sum(Enrolment.opco_amount_cents), 0),
        ).select_from(Enrolment),
        f,
    ).where(*enrolment_conditions(opco_id, f))
    return _grouped(query, columns, dimension)


def _session_figures(opco_id: int, f: Filters, dimension: str | None) -> dict:
    held = TrainingSession.status.in_(HELD)
    columns = _session_key(dimension) if dimension else ()
    query = sessions_from(
        select(
            *columns,
            func.count(case((held, TrainingSession.id))),
            func.count(case((TrainingSession.status == SessionStatus.CANCELLED, TrainingSession.id))),
            func.coalesce(func.sum(case((held, TrainingSession.capacity_max), else_=0)), 0),
            func.coalesce(func.sum(case((held, TrainingSession.seats_held), else_=0)), 0),
        ).select_from(TrainingSession)
    ).where(*session_conditions(opco_id, f))
    return _grouped(query, columns, dimension)


def _money_figures(opco_id: int, f: Filters, dimension: str | None) -> dict:
    sign = case((Invoice.kind == InvoiceKind.CREDIT_NOTE, -1), else_=1)
    ttc = InvoiceLine.amount_ht_cents + InvoiceLine.vat_cents
    realised, paid = realised_condition(), paid_condition()
    columns = _key(dimension)
    query = (
        select(
            *columns,
            func.coalesce(func.sum(case((realised, sign * ttc), else_=0)), 0),
            func.coalesce(func.sum(case((realised, sign * InvoiceLine.amount_ht_cents), else_=0)), 0),
            func.coalesce(func.sum(case((paid, ttc), else_=0)), 0),
        )
        .select_from(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
    )
    query = invoices_from(query)
    where = invoice_conditions(opco_id, f)
    if f.by_company or dimension == "band":
        query = query.outerjoin(Enrolment, Enrolment.id == InvoiceLine.enrolment_id).outerjoin(
            Company, Company.id == Enrolment.company_id
        )
        if f.band:
            where.append(Enrolment.size_band == f.band)
        if f.idcc:
            where.append(Company.idcc == f.idcc)
    return _grouped(query.where(*where), columns, dimension)


def _figures(enrolled, held, money) -> Figures:
    figures = Figures()
    if enrolled:
        (figures.enrolments, figures.trainees, figures.closed, planned, done, committed) = enrolled
        figures.planned_minutes, figures.done_minutes = int(planned), int(done)
        figures.committed_cents = int(committed)
    if held:
        figures.sessions_held, figures.sessions_cancelled, capacity, seats = (int(v) for v in held)
        figures.capacity, figures.seats = capacity, seats
    if money:
        figures.realised_cents, figures.realised_ht_cents, figures.paid_cents = (int(v) for v in money)
    return figures


def _label(dimension: str, key: str, known: Choices) -> str:
    if dimension == "month":
        return f"{MONTHS[int(key[5:]) - 1]} {key[:4]}"
    names = {
        "region": dict(known.regions),
        "band": dict(known.bands),
        "provider": {str(k): v for k, v in known.providers},
    }[dimension]
    if not key:
        return "Non rattaché à un stagiaire" if dimension == "band" else "—"
    return names.get(key, key)


def _filter_for(dimension: str, key: str) -> dict:
    if not key:
        return {}
    return {"month": {"mois": key}, "region": {"region": key}, "band": {"taille": key}}.get(
        dimension, {"of": key}
    )


def _sort(dimension: str, rows: list[Row]) -> list[Row]:
    if dimension == "month":
        return sorted(rows, key=lambda r: r.key)
    if dimension == "band":
        order = {code: n for n, (code, *_rest) in enumerate(SIZE_BANDS)}
        return sorted(rows, key=lambda r: order.get(r.key, len(order)))
    return sorted(rows, key=lambda r: (-r.figures.enrolments, -r.figures.sessions_held, r.label))


def report(opco: Opco, filters: Filters, known: Choices) -> Report:
    """The totals and the breakdowns by month, region, size band and training organisation (14 statements)."""
    totals = _figures(
        _enrolment_figures(opco.id, filters, None).get(""),
        _session_figures(opco.id, filters, None).get(""),
        _money_figures(opco.id, filters, None).get(""),
    )
    result = Report(filters, totals)
    for dimension in DIMENSIONS:
        enrolled = _enrolment_figures(opco.id, filters, dimension)
        held = _session_figures(opco.id, filters, dimension) if dimension != "band" else {}
        money = _money_figures(opco.id, filters, dimension)
        rows = []
        for key in set(enrolled) | set(held) | set(money):
            figures = _figures(enrolled.get(key), held.get(key), money.get(key))
            if not (figures.enrolments or figures.sessions_held or figures.sessions_cancelled) and not (
                figures.realised_cents or figures.paid_cents
            ):
                continue
            rows.append(Row(key, _label(dimension, key, known), figures, _filter_for(dimension, key)))
        result.breakdowns[dimension] = _sort(dimension, rows)
    return result
