"""A company's training history (« Historique »): per employee and per year, what was followed, the hours
done, the outcome, and who paid — the OPCO's funding against what the company owes (reste à charge,
indemnités de dédit) and has paid, from its invoices. Same rows as the export (``CompanyHistoryExport``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import aliased

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
    Organisation,
    Payer,
    TrainingSession,
)
from marketplace.services.export_lists import ListExport, hours, year_bounds
from marketplace.services.export_writer import Euros
from marketplace.services.exports import ERASED

LIMIT = 1_000  # rows shown on the page; the export has them all


def company_money():
    """Per enrolment, what the company was invoiced for it (training remainder and dédit, HT, credit notes
    deducted) and what of it is paid — from the lines of its invoices; one grouped subquery."""
    I, L = Invoice, InvoiceLine  # noqa: E741
    sign = case((I.kind == InvoiceKind.CREDIT_NOTE, -1), else_=1)
    counted = and_(I.payer == Payer.COMPANY, I.status != InvoiceStatus.DRAFT)
    return (
        select(
            L.enrolment_id.label("enrolment_id"),
            func.sum(case((L.kind == LineKind.DEDIT, sign * L.amount_ht_cents), else_=0)).label("dedit"),
            func.sum(sign * L.amount_ht_cents).label("invoiced"),
            func.sum(case((I.status == InvoiceStatus.PAID, sign * L.amount_ht_cents), else_=0)).label("paid"),
        )
        .join(I, I.id == L.invoice_id)
        .where(counted, L.enrolment_id.is_not(None))
        .group_by(L.enrolment_id)
        .subquery()
    )


def history_query(company_id: int, year: int | None = None, employee_id: int | None = None):
    """The company's enrolments that made a trainee (or were cancelled with a dédit), with the money."""
    E, S, A = Enrolment, TrainingSession, CollectiveAction
    provider = aliased(Organisation)
    money = company_money()
    query = (
        select(
            Employee.id,
            Employee.last_name,
            Employee.first_name,
            Employee.erased_at,
            S.start_date,
            S.end_date,
            A.reference,
            A.title,
            provider.name,
            E.id,
            E.status,
            E.outcome,
            E.planned_minutes,
            E.attended_minutes,
            E.price_cents,
            E.funded_cents,
            E.remainder_cents,
            func.coalesce(money.c.dedit, 0),
            func.coalesce(money.c.invoiced, 0),
            func.coalesce(money.c.paid, 0),
        )
        .join(S, S.id == E.session_id)
        .join(A, A.id == S.action_id)
        .join(provider, provider.id == E.provider_id)
        .join(Employee, Employee.id == E.employee_id)
        .outerjoin(money, money.c.enrolment_id == E.id)
        .where(
            E.company_id == company_id,
            (E.status.in_(EnrolmentStatus.LIVE)) | (func.coalesce(money.c.invoiced, 0) != 0),
        )
        .order_by(S.start_date, Employee.last_name, Employee.first_name, E.id)
    )
    if year:
        query = query.where(S.start_date.between(*year_bounds(year)))
    if employee_id:
        query = query.where(E.employee_id == employee_id)
    return query


class CompanyHistoryExport(ListExport):
    """A company's training history: one row per employee and training, funded by the OPCO vs paid."""

    title = "Historique des formations"
    filename_stem = "historique-formations"
    columns = (
        "Année",
        "Salarié",
        "Référence action",
        "Formation",
        "Organisme de formation",
        "Début",
        "Fin",
        "État / résultat",
        "Heures prévues",
        "Heures réalisées",
        "Prix HT (€)",
        "Pris en charge par l'OPCO HT (€)",
        "Reste à charge HT (€)",
        "Indemnité de dédit HT (€)",
        "Facturé à l'entreprise HT (€)",
        "Payé par l'entreprise HT (€)",
    )
    widths = (6, 26, 14, 40, 30, 11, 11, 26, 9, 9, 12, 14, 12, 12, 12, 12)

    def __init__(self, company_id: int, year: int | None = None, employee_id: int | None = None):
        super().__init__("company", company_id, year)
        self.employee_id = employee_id

    def query(self):
        return history_query(self.org_id, self.year, self.employee_id)

    def shape(self, row):
        item = history_item(row)
        return (
            item.year,
            item.employee,
            item.reference,
            item.title,
            item.provider,
            item.start,
            item.end,
            item.status,
            hours(item.planned),
            hours(item.attended),
            Euros(item.price) if item.live else None,
            Euros(item.funded),
            Euros(item.remainder),
            Euros(item.dedit),
            Euros(item.invoiced),
            Euros(item.paid),
        )


class HistoryItem:
    """One line of the history, for the page and the export alike."""

    __slots__ = (
        "employee_id", "employee", "start", "end", "year", "reference", "title", "provider", "status", "live",
        "planned", "attended", "price", "funded", "remainder", "dedit", "invoiced", "paid",
    )  # fmt: skip


def history_item(row) -> HistoryItem:
    (employee_id, last, first, erased, start, end, ref, title, provider, _eid, status, outcome, planned,
     attended, price, funded, remainder, dedit, invoiced, paid) = row  # fmt: skip
    item = HistoryItem()
    item.employee_id = employee_id
    item.employee = ERASED if erased is not None else f"{last.upper()} {first}"
    item.start, item.end, item.year = start, end, start.year
    item.reference, item.title, item.provider = ref, title, provider
    label = EnrolmentStatus.LABELS[status]
    if status == EnrolmentStatus.CLOSED and outcome:
        label = f"{label} – {EnrolmentStatus.LABELS.get(outcome, outcome)}"
    item.status = label
    item.live = status in EnrolmentStatus.LIVE
    item.planned, item.attended = planned, attended
    item.price = price
    item.funded = funded if item.live else 0
    item.remainder = remainder if item.live else 0
    item.dedit = int(dedit or 0)
    item.invoiced = int(invoiced or 0)
    item.paid = int(paid or 0)
    return item


# --- The page ---------------------------------------------------------------------------------------------


@dataclass
class YearTotals:
    year: int
    trainings: int = 0
    attended: int = 0  # minutes
    funded: int = 0
    remainder: int = 0
    dedit: int = 0
    invoiced: int = 0
    paid: int = 0


@dataclass
class History:
    items: list[HistoryItem]
    truncated: bool
    totals: list[YearTotals]
    grand: YearTotals
    employees: list[tuple[int, str]] = field(default_factory=list)
    years: list[int] = field(default_factory=list)


def history(company_id: int, year: int | None = None, employee_id: int | None = None) -> History:
    """The history filtered by year and employee; totals per year over every matching row (not only those
    shown). Four queries whatever the rows."""
    query = history_query(company_id, year, employee_id)
    rows = db.session.execute(query.limit(LIMIT + 1)).all()
    items = [history_item(row) for row in rows[:LIMIT]]
    totals: dict[int, YearTotals] = {}
    if len(rows) > LIMIT:
        source = (history_item(row) for row in db.session.execute(query.execution_options(yield_per=1000)))
    else:
        source = iter(items)
    for item in source:
        line = totals.setdefault(item.year, YearTotals(item.year))
        line.trainings += 1
        line.attended += item.attended or 0
        line.funded += item.funded
        line.remainder += item.remainder
        line.dedit += item.dedit
        line.invoiced += item.invoiced
        line.paid += item.paid
    grand = YearTotals(0)
    for line in totals.values():
        for name in ("trainings", "attended", "funded", "remainder", "dedit", "invoiced", "paid"):
            setattr(grand, name, getattr(grand, name) + getattr(line, name))
    return History(
        items,
        len(rows) > LIMIT,
        sorted(totals.values(), key=lambda t: t.year),
        grand,
        employees(company_id),
        years(company_id),
    )


def employees(company_id: int) -> list[tuple[int, str]]:
    """The employees who have a history, for the filter (erased ones are not offered by name)."""
    rows = db.session.execute(
        select(Employee.id, Employee.last_name, Employee.first_name)
        .where(
            Employee.company_id == company_id,
            Employee.erased_at.is_(None),
            Employee.id.in_(select(Enrolment.employee_id).where(Enrolment.company_id == company_id)),
        )
        .order_by(Employee.last_name, Employee.first_name, Employee.id)
    ).all()
    return sorted_fr(
        ((employee_id, f"{last.upper()} {first}") for employee_id, last, first in rows), key=lambda e: e[1]
    )


def years(company_id: int) -> list[int]:
    year = extract("year", TrainingSession.start_date)
    rows = db.session.scalars(
        select(year)
        .distinct()
        .select_from(Enrolment)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(Enrolment.company_id == company_id)
        .order_by(year.desc())
    ).all()
    return [int(y) for y in rows if y is not None]
