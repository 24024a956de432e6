"""A training organisation's own figures for a year (« Indicateurs »), and help for its annual Bilan
pédagogique et financier (BPF, cerfa 10443) — over what went through the platform only.

Definitions (shown on the page):
- sessions of the year: those starting in it, drafts aside; **tenue** = delivered (service fait) or marked
  done; **annulée** = cancelled;
- **stagiaires**: enrolments holding a seat as trainees on a session held (absent ones included);
  **remplissage** = those trainees / the seats offered (maximum) on the sessions held;
- **réalisation** = hours done / hours planned, from the figures frozen on each trainee at service fait;
- **chiffre d'affaires facturé HT**: training lines of the invoices issued in the year (credit notes
  deducted), per payer; indemnités de dédit apart — they are not training revenue in the BPF.

BPF help: revenue by origin (OPCO, employers for their employees — cadre C « origine des produits »);
trainees and hours-trainees (hours done × trainee) by type of trainee (salariés d'employeurs privés hors
apprentis, apprentis — from the employee's contract) and by funding (OPCO share or the employer alone),
and by speciality (NSF code of the action's theme) — cadre F. It is help, not the cerfa: the BPF covers the
accounting year and all of the organisation's activity, on and off the platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import case, distinct, func, select

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import (
    CollectiveAction,
    Employee,
    Enrolment,
    EnrolmentStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Payer,
    SessionStatus,
    Theme,
    TrainingSession,
)
from marketplace.services.export_lists import HELD, hours, year_bounds
from marketplace.services.export_writer import Euros
from marketplace.services.exports import Exporter

APPRENTICE_CONTRACTS = ("apprentissage",)
CATEGORIES = {
    "salaries": "Salariés d'employeurs privés hors apprentis",
    "apprentis": "Apprentis",
}


@dataclass
class ActionFigures:
    reference: str = ""
    title: str = ""
    held: int = 0
    cancelled: int = 0
    other: int = 0
    seats: int = 0
    trainees: int = 0
    trained: int = 0
    planned: int = 0  # minutes
    attended: int = 0
    revenue: dict[str, int] = field(default_factory=lambda: {Payer.OPCO: 0, Payer.COMPANY: 0})
    dedit: int = 0

    @property
    def fill_pct(self) -> float | None:
        return round(self.trainees * 100 / self.seats, 1) if self.seats else None

    @property
    def realisation_pct(self) -> float | None:
        return round(self.attended * 100 / self.planned, 1) if self.planned else None

    @property
    def revenue_total(self) -> int:
        return sum(self.revenue.values())

    def add(self, other: ActionFigures) -> None:
        for name in (
            "held",
            "cancelled",
            "other",
            "seats",
            "trainees",
            "trained",
            "planned",
            "attended",
            "dedit",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for payer, cents in other.revenue.items():
            self.revenue[payer] = self.revenue.get(payer, 0) + cents


@dataclass
class BpfLine:
    label: str
    trainees: int = 0
    minutes: int = 0

    @property
    def hours(self):
        return hours(self.minutes)


@dataclass
class Bpf:
    revenue_opco: int = 0
    revenue_companies: int = 0
    dedit: int = 0
    by_category: list[BpfLine] = field(default_factory=list)
    by_funding: list[BpfLine] = field(default_factory=list)
    by_speciality: list[BpfLine] = field(default_factory=list)
    total: BpfLine = field(default_factory=lambda: BpfLine("Total"))

    @property
    def revenue_total(self) -> int:
        return self.revenue_opco + self.revenue_companies


@dataclass
class ProviderFigures:
    year: int
    actions: list[ActionFigures]
    total: ActionFigures
    bpf: Bpf


def _in_year(year: int):
    return TrainingSession.start_date.between(*year_bounds(year))


def _sessions(provider_id: int, year: int) -> dict[int, ActionFigures]:
    S, A = TrainingSession, CollectiveAction
    held = S.status.in_(HELD)
    rows = db.session.execute(
        select(
            A.id,
            A.reference,
            A.title,
            func.sum(case((held, 1), else_=0)),
            func.sum(case((S.status == SessionStatus.CANCELLED, 1), else_=0)),
            func.count(S.id),
            func.sum(case((held, S.capacity_max), else_=0)),
        )
        .join(A, A.id == S.action_id)
        .where(S.provider_id == provider_id, S.status != SessionStatus.DRAFT, _in_year(year))
        .group_by(A.id, A.reference, A.title)
    ).all()
    figures = {}
    for action_id, ref, title, held_n, cancelled, count, seats in rows:
        held_n, cancelled = int(held_n or 0), int(cancelled or 0)
        figures[action_id] = ActionFigures(
            ref, title, held_n, cancelled, int(count) - held_n - cancelled, int(seats or 0)
        )
    return figures


def _trainees(provider_id: int, year: int, figures: dict[int, ActionFigures]) -> None:
    E, S = Enrolment, TrainingSession
    rows = db.session.execute(
        select(
            S.action_id,
            func.count(E.id),
            func.sum(case((E.attended_minutes > 0, 1), else_=0)),
            func.sum(func.coalesce(E.planned_minutes, 0)),
            func.sum(func.coalesce(E.attended_minutes, 0)),
        )
        .join(S, S.id == E.session_id)
        .where(
            E.provider_id == provider_id,
            E.status.in_(EnrolmentStatus.TRAINEES),
            S.status.in_(HELD),
            _in_year(year),
        )
        .group_by(S.action_id)
    ).all()
    for action_id, count, trained, planned, attended in rows:
        item = figures.setdefault(action_id, ActionFigures())
        item.trainees, item.trained = int(count), int(trained or 0)
        item.planned, item.attended = int(planned or 0), int(attended or 0)


def _revenue(provider_id: int, year: int, figures: dict[int, ActionFigures]) -> None:
    I, L, S = Invoice, InvoiceLine, TrainingSession  # noqa: E741
    sign = case((I.kind == InvoiceKind.CREDIT_NOTE, -1), else_=1)
    rows = db.session.execute(
        select(S.action_id, I.payer, L.kind, func.sum(sign * L.amount_ht_cents))
        .join(I, I.id == L.invoice_id)
        .join(S, S.id == I.session_id)
        .where(
            I.provider_id == provider_id,
            I.status != InvoiceStatus.DRAFT,
            I.issued_on.between(*year_bounds(year)),
        )
        .group_by(S.action_id, I.payer, L.kind)
    ).all()
    missing = {action_id for action_id, *_ in rows} - set(figures)
    if missing:  # invoiced this year for sessions of another year: the action's name is still needed
        for action_id, ref, title in db.session.execute(
            select(CollectiveAction.id, CollectiveAction.reference, CollectiveAction.title).where(
                CollectiveAction.id.in_(missing)
            )
        ):
            figures[action_id] = ActionFigures(ref, title)
    for action_id, payer, kind, cents in rows:
        item = figures[action_id]
        if kind == LineKind.DEDIT:
            item.dedit += int(cents or 0)
        else:
            item.revenue[payer] = item.revenue.get(payer, 0) + int(cents or 0)


def _bpf_lines(provider_id: int, year: int, group, labels) -> list[BpfLine]:
    """Trainees (distinct people) and hours done, grouped by ``group``, over trainees with time done."""
    E, S = Enrolment, TrainingSession
    rows = db.session.execute(
        select(group, func.count(distinct(E.employee_id)), func.sum(E.attended_minutes))
        .select_from(E)
        .join(S, S.id == E.session_id)
        .join(Employee, Employee.id == E.employee_id)
        .join(CollectiveAction, CollectiveAction.id == S.action_id)
        .outerjoin(Theme, Theme.code == CollectiveAction.theme_code)
        .where(E.provider_id == provider_id, E.attended_minutes > 0, S.status.in_(HELD), _in_year(year))
        .group_by(group)
    ).all()
    return sorted_fr(
        (BpfLine(labels(key), int(count), int(minutes or 0)) for key, count, minutes in rows),
        key=lambda line: line.label,
    )


def _bpf(provider_id: int, year: int, total: ActionFigures) -> Bpf:
    E = Enrolment
    bpf = Bpf(
        revenue_opco=total.revenue.get(Payer.OPCO, 0), revenue_companies=total.revenue.get(Payer.COMPANY, 0)
    )
    bpf.dedit = total.dedit
    apprentice = case((Employee.contract_type.in_(APPRENTICE_CONTRACTS), "apprentis"), else_="salaries")
    bpf.by_category = _bpf_lines(provider_id, year, apprentice, lambda key: CATEGORIES[key])
    funded = case((E.funded_cents > 0, "opco"), else_="company")
    funding_labels = {
        "opco": "Formations financées par l'OPCO (prise en charge, reste à charge éventuel de l'employeur)",
        "company": "Formations financées par l'employeur seul",
    }
    bpf.by_funding = _bpf_lines(provider_id, year, funded, lambda key: funding_labels[key])
    speciality = func.coalesce(Theme.code, "") + " – " + func.coalesce(Theme.label, "")
    bpf.by_speciality = _bpf_lines(provider_id, year, speciality, lambda key: key)
    people = db.session.execute(
        select(func.count(distinct(E.employee_id)), func.sum(E.attended_minutes))
        .join(TrainingSession, TrainingSession.id == E.session_id)
        .where(
            E.provider_id == provider_id,
            E.attended_minutes > 0,
            TrainingSession.status.in_(HELD),
            _in_year(year),
        )
    ).one()
    bpf.total = BpfLine("Total", int(people[0] or 0), int(people[1] or 0))
    return bpf


def figures(provider_id: int, year: int) -> ProviderFigures:
    """Every figure of the page, in a fixed number of queries whatever the activity."""
    by_action = _sessions(provider_id, year)
    _trainees(provider_id, year, by_action)
    _revenue(provider_id, year, by_action)
    actions = sorted(by_action.values(), key=lambda a: (a.reference, a.title))
    total = ActionFigures("", "Ensemble")
    for item in actions:
        total.add(item)
    return ProviderFigures(year, actions, total, _bpf(provider_id, year, total))


def years(provider_id: int, today_year: int) -> list[int]:
    """Years with sessions, and the current one, newest first."""
    S = TrainingSession
    first = db.session.scalar(select(func.min(S.start_date)).where(S.provider_id == provider_id))
    start = min(first.year, today_year) if first else today_year
    last = db.session.scalar(select(func.max(S.start_date)).where(S.provider_id == provider_id))
    end = max(last.year, today_year) if last else today_year
    return list(range(end, start - 1, -1))


class ActionFiguresExport(Exporter):
    """The figures per action of a year, a last row for the whole organisation."""

    title = "Indicateurs"
    columns = (
        "Référence action",
        "Action",
        "Sessions tenues",
        "Sessions annulées",
        "Sessions à venir ou en cours",
        "Places offertes (sessions tenues)",
        "Stagiaires",
        "Remplissage (%)",
        "Stagiaires ayant suivi des heures",
        "Heures-stagiaires prévues",
        "Heures-stagiaires réalisées",
        "Réalisation (%)",
        "CA facturé à l'OPCO HT (€)",
        "CA facturé aux entreprises HT (€)",
        "CA facturé total HT (€)",
        "Indemnités de dédit HT (€)",
    )
    widths = (14, 40, 8, 8, 8, 10, 10, 10, 10, 10, 10, 10, 14, 14, 14, 12)

    def __init__(self, provider_id: int, year: int | None):
        from marketplace.formatting import paris_today

        self.provider_id = provider_id
        self.year = year or paris_today().year
        self.filename_stem = f"indicateurs-{self.year}"
        self._figures: ProviderFigures | None = None

    def data(self) -> ProviderFigures:
        if self._figures is None:
            self._figures = figures(self.provider_id, self.year)
        return self._figures

    def count(self) -> int:
        return len(self.data().actions) + 1

    def rows(self) -> Iterable[Sequence[object]]:
        data = self.data()
        for item in [*data.actions, data.total]:
            yield (
                item.reference,
                item.title,
                item.held,
                item.cancelled,
                item.other,
                item.seats,
                item.trainees,
                item.fill_pct,
                item.trained,
                hours(item.planned),
                hours(item.attended),
                item.realisation_pct,
                Euros(item.revenue.get(Payer.OPCO, 0)),
                Euros(item.revenue.get(Payer.COMPANY, 0)),
                Euros(item.revenue_total),
                Euros(item.dedit),
            )
