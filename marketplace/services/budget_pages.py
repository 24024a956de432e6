"""Read models of the OPCO's budget pages: the envelopes with their bars, one envelope's ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import BudgetEnvelope, BudgetMovement, CollectiveAction, Fund, Opco
from marketplace.services.pagination import Page, paginate


@dataclass
class Bar:
    """One envelope's figures as shares of its allotted amount (the bar is capped at 100 % wide; the text
    says the real percentage)."""

    envelope: BudgetEnvelope
    actions: int

    def pct(self, cents: int) -> int:
        return self.envelope.pct(cents)

    def width(self, cents: int) -> int:
        return min(100, max(0, self.pct(cents)))

    @property
    def level(self) -> str:
        pct = self.pct(self.envelope.committed_cents)
        return "danger" if pct >= 100 else "warning" if pct >= 80 else "ok"


@dataclass
class Overview:
    bars: list[Bar]
    years: list[int]
    year: int | None
    fund: str


def overview(opco: Opco, year: int | None, fund: str) -> Overview:
    query = select(BudgetEnvelope).where(BudgetEnvelope.opco_id == opco.id)
    if year is not None:
        query = query.where(BudgetEnvelope.year == year)
    if fund in Fund.LABELS:
        query = query.where(BudgetEnvelope.fund == fund)
    envelopes = db.session.scalars(
        query.order_by(BudgetEnvelope.year.desc(), BudgetEnvelope.fund, BudgetEnvelope.label).limit(200)
    ).all()
    counts = dict(
        db.session.execute(
            select(CollectiveAction.envelope_id, func.count(CollectiveAction.id))
            .where(CollectiveAction.opco_id == opco.id, CollectiveAction.envelope_id.is_not(None))
            .group_by(CollectiveAction.envelope_id)
        ).all()
    )
    years = list(
        db.session.scalars(
            select(BudgetEnvelope.year)
            .where(BudgetEnvelope.opco_id == opco.id)
            .distinct()
            .order_by(BudgetEnvelope.year.desc())
        )
    )
    return Overview(
        bars=[Bar(e, counts.get(e.id, 0)) for e in envelopes],
        years=years,
        year=year,
        fund=fund if fund in Fund.LABELS else "",
    )


@dataclass
class Detail:
    bar: Bar
    movements: Page
    actions: list[CollectiveAction]
    choices: list[tuple[int, str]]


def detail(opco: Opco, envelope: BudgetEnvelope, page: int) -> Detail:
    movements = paginate(
        select(BudgetMovement)
        .where(BudgetMovement.envelope_id == envelope.id)
        .order_by(BudgetMovement.id.desc()),
        page,
    )
    actions = db.session.scalars(
        select(CollectiveAction)
        .where(CollectiveAction.opco_id == opco.id, CollectiveAction.envelope_id == envelope.id)
        .order_by(CollectiveAction.reference)
        .limit(500)
    ).all()
    choices = [
        (row.id, f"{row.reference} – {row.title}")
        for row in db.session.execute(
            select(CollectiveAction.id, CollectiveAction.reference, CollectiveAction.title)
            .where(CollectiveAction.opco_id == opco.id)
            .order_by(CollectiveAction.reference)
            .limit(2000)
        )
    ]
    return Detail(Bar(envelope, len(actions)), movements, actions, choices)
