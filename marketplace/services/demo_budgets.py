"""Demo budget envelopes: each demo OPCO gets two envelopes for the year, its actions draw on them, and the
seats already taken in the demo are committed (and realised, for closed ones) as if the envelopes had been
there from the start; the first envelope is set near its limit (92 % committed) to show the alerts."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import BudgetEnvelope, CollectiveAction, Enrolment, EnrolmentStatus, Fund, Opco, User
from marketplace.services import budgets

S = EnrolmentStatus
NEAR_LIMIT_PCT = 92


def _adopt(enrolment: Enrolment, envelope_id: int) -> None:
    """Replay a demo enrolment on its action's new envelope (commit, then realise when closed)."""
    enrolment.envelope_id = envelope_id
    if enrolment.status not in S.TRAINEES:
        return
    budgets.commit(enrolment, check=False)
    if enrolment.status == S.CLOSED:
        budgets.realise(enrolment)


def seed_budgets(today: date, opcos: dict[str, Opco], opco_admins: dict[str, User]) -> dict[str, int]:
    """The caller commits."""
    created = 0
    for opco in opcos.values():
        actions = db.session.scalars(
            select(CollectiveAction).where(CollectiveAction.opco_id == opco.id).order_by(CollectiveAction.id)
        ).all()
        if not actions:
            continue
        near = BudgetEnvelope(
            opco_id=opco.id,
            year=today.year,
            fund=Fund.LEGAL,
            label=f"Fonds légaux {today.year} – actions collectives",
            allotted_cents=0,
            when_exhausted="approval",
        )
        wide = BudgetEnvelope(
            opco_id=opco.id,
            year=today.year,
            fund=Fund.CONVENTIONAL,
            label=f"Fonds conventionnels {today.year}",
            allotted_cents=50_000_000,
        )
        db.session.add_all([near, wide])
        db.session.flush()
        created += 2
        for n, action in enumerate(actions):
            action.envelope_id = near.id if n % 2 == 0 else wide.id
        db.session.flush()
        for enrolment in db.session.scalars(
            select(Enrolment).where(Enrolment.opco_id == opco.id).order_by(Enrolment.id)
        ):
            _adopt(enrolment, enrolment.session.action.envelope_id)
        # The envelope with the most committed is the one shown near its limit.
        if wide.committed_cents > near.committed_cents:
            near, wide = wide, near
            near.when_exhausted, wide.when_exhausted = "approval", "refuse"
        if near.committed_cents:
            near.allotted_cents = near.committed_cents * 100 // NEAR_LIMIT_PCT
        else:
            near.allotted_cents = 1_000_000
        for envelope in (near, wide):
            envelope.alerted_pct = budgets.crossed_threshold(envelope)
    return {"budget_envelopes": created}
