"""A company's training history (« Historique »): per employee and per year, what was followed, the hours
done, the outcome, and who paid — the OPCO's funding against what the company owes (reste à charge,
indemnités de dédit) and has paid, from its invoices. Same rows as the export (``CompanyHistoryExport``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import distinct, extract, select

from marketplace.extensions import db
from marketplace.models import Employee, Enrolment, TrainingSession
from marketplace.services.export_lists import HistoryItem, history_item, history_query

LIMIT = 1_000  # rows shown on the page; the export has them all


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
    return [(employee_id, f"{last.upper()} {first}") for employee_id, last, first in rows]


def years(company_id: int) -> list[int]:
    year = extract("year", TrainingSession.start_date)
    rows = db.session.scalars(
        select(distinct(year))
        .select_from(Enrolment)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(Enrolment.company_id == company_id)
        .order_by(year.desc())
    ).all()
    return [int(y) for y in rows if y is not None]
