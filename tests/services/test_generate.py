"""The synthetic marketplace of the benchmarks holds the rules the services hold (bench figures rest on it)."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Company, Enrolment, EnrolmentStatus, Referencing, TrainingSession
from marketplace.services import generate, generate_sessions

S = EnrolmentStatus


def test_generated_data_keeps_seats_offers_and_tenancy_consistent(db_session):
    today = paris_today()
    report = generate.generate(
        sessions=1_500, enrolments=12_000, seed=7, today=today, progress=lambda _: None
    )
    db.session.commit()
    assert report.counts  # every step reported its rows

    sessions = db.session.execute(
        select(
            TrainingSession.id,
            TrainingSession.capacity_max,
            TrainingSession.seats_held,
            TrainingSession.start_date,
        )
    ).all()
    assert len(sessions) == 1_500
    holders = dict(
        db.session.execute(
            select(Enrolment.session_id, func.count())
            .where(Enrolment.status.in_(S.SEAT_HOLDING))
            .group_by(Enrolment.session_id)
        ).all()
    )
    for session_id, capacity, held, _start in sessions:
        assert held == holders.get(session_id, 0) <= capacity, session_id

    # A live offer only on a session whose first day has not come (offers stop then).
    offers = db.session.execute(
        select(TrainingSession.start_date)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .where(Enrolment.status == S.OFFERED)
    ).all()
    assert offers and all(start > today for (start,) in offers)

    # Sessions go through a referencing of their own organisation on their own action and OPCO.
    mismatched = db.session.scalar(
        select(func.count())
        .select_from(TrainingSession)
        .join(Referencing, Referencing.id == TrainingSession.referencing_id)
        .where(
            (Referencing.provider_id != TrainingSession.provider_id)
            | (Referencing.action_id != TrainingSession.action_id)
            | (Referencing.opco_id != TrainingSession.opco_id)
        )
    )
    assert mismatched == 0
    # A company enrols only on its own OPCO's sessions.
    foreign = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .join(Company, Company.id == Enrolment.company_id)
        .join(TrainingSession, TrainingSession.id == Enrolment.session_id)
        .where(Company.opco_id != TrainingSession.opco_id)
    )
    assert foreign == 0


def test_no_session_is_planned_with_an_offer_on_or_after_its_first_day():
    """The plans behind the data: out of 200 000 sessions none is offered a seat from its first day (about
    five were before the fix, among the sessions starting on the day of generation)."""
    rng, today = random.Random(3), paris_today()
    plans = [generate_sessions.plan_session(rng, today) for _ in range(200_000)]
    assert sum(p.offered for p in plans) > 1_000  # offers are still generated
    assert [p for p in plans if p.offered and p.start <= today] == []
