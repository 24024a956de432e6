"""Budget envelopes: committed at confirmation, released, realised at closing, paid, credit notes, alerts,
the OPCO's policy when exhausted, and 50 parallel enrolments on an envelope with room for 10."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    BudgetEnvelope,
    BudgetMovement,
    Enrolment,
    EnrolmentStatus,
    Invoice,
    InvoiceLine,
    OutboxMessage,
    utcnow,
)
from marketplace.services import (
    budgets,
    enrolment_states,
    enrolments,
    envelopes,
    locking,
    session_enrolments,
    waitlist,
)
from marketplace.services.errors import DomainError, InvalidForm

S = EnrolmentStatus


@pytest.fixture
def opco(make):
    return make.opco("akto")


@pytest.fixture
def manager(make, opco):
    user = make.user()
    make.member(opco, user, "admin")
    return user


def envelope_for(opco, actor, allotted="10 000", policy="refuse", thresholds="80, 90, 100"):
    envelope = envelopes.create_envelope(
        opco,
        envelopes.EnvelopeInput(
            label="Fonds légaux 2026",
            year=2026,
            fund="legal",
            allotted=allotted,
            thresholds=thresholds,
            when_exhausted=policy,
        ),
        actor,
    )
    db.session.commit()
    return envelope


def session_on(make, opco, envelope, **kw):
    action = make.action(opco, **kw)
    action.envelope_id = envelope.id
    db.session.commit()
    return make.session(action, capacity_max=20)


def fresh(envelope) -> BudgetEnvelope:
    return db.session.get(BudgetEnvelope, envelope.id, populate_existing=True)


def ledger(envelope) -> dict[str, int]:
    rows = db.session.execute(
        select(BudgetMovement.kind, func.sum(BudgetMovement.cents))
        .where(BudgetMovement.envelope_id == envelope.id)
        .group_by(BudgetMovement.kind)
    ).all()
    return dict(rows)


def figures(envelope) -> tuple[int, int, int]:
    envelope = fresh(envelope)
    moved = ledger(envelope)
    # The running totals are exactly what the ledger adds up to.
    assert envelope.committed_cents == moved.get("committed", 0) - moved.get("released", 0)
    assert envelope.realised_cents == moved.get("realised", 0)
    assert envelope.paid_cents == moved.get("paid", 0)
    return envelope.committed_cents, envelope.realised_cents, envelope.paid_cents


def enrol_one(make, session, company=None):
    company = company or make.company()
    employee = make.employee(company)
    actor = make.user()
    make.member(company, actor, "hr")
    [outcome] = enrolments.enrol(company, session.id, [employee.id], actor)
    db.session.commit()
    return outcome


def test_no_envelope_no_budget_rule(make, opco, manager):
    enrolment = make.enrolment(make.session(make.action(opco)))
    assert enrolment.status == S.CONFIRMED
    assert enrolment.envelope_id is None and enrolment.budget_committed_cents == 0
    assert db.session.scalar(select(func.count(BudgetMovement.id))) == 0


def test_committed_at_confirmation_released_on_cancellation(make, opco, manager):
    envelope = envelope_for(opco, manager)
    session = session_on(make, opco, envelope)
    outcome = enrol_one(make, session)
    enrolment = outcome.enrolment
    share = enrolment.opco_amount_cents
    assert share > 0
    assert enrolment.envelope_id == envelope.id and enrolment.budget_committed_cents == share
    assert figures(envelope) == (share, 0, 0)
    enrolments.cancel(enrolment, enrolment.requested_by)
    db.session.commit()
    assert figures(envelope) == (0, 0, 0)
    assert db.session.get(Enrolment, enrolment.id).budget_committed_cents == 0


def test_released_when_the_session_is_cancelled(make, opco, manager):
    envelope = envelope_for(opco, manager)
    session = session_on(make, opco, envelope)
    enrol_one(make, session)
    enrol_one(make, session)
    assert figures(envelope)[0] > 0
    session_enrolments.cancel_for_session(session, None, "Formateur indisponible")
    db.session.commit()
    assert figures(envelope) == (0, 0, 0)


def test_committed_at_approval_released_on_refusal(make, opco, manager):
    envelope = envelope_for(opco, manager)
    session = session_on(make, opco, envelope, requires_approval=True)
    first = enrol_one(make, session).enrolment
    second = enrol_one(make, session).enrolment
    assert first.status == S.PENDING_APPROVAL and figures(envelope) == (0, 0, 0)
    enrolments.approve(first, manager, opco.id)
    db.session.commit()
    assert figures(envelope)[0] == first.opco_amount_cents
    enrolments.refuse(second, manager, opco.id, "Pas prioritaire")
    db.session.commit()
    assert figures(envelope)[0] == first.opco_amount_cents


def close_with(enrolment, attended: int, planned: int):
    for event in ("start_training", "partially_attended" if attended < planned else "attended"):
        enrolment_states.transition(enrolment, event, None)
    enrolment.planned_minutes, enrolment.attended_minutes = planned, attended
    enrolment_states.transition(enrolment, "close", None)
    db.session.commit()


def test_realised_at_closing_prorated_to_the_cent(make, opco, manager):
    envelope = envelope_for(opco, manager)
    session = session_on(make, opco, envelope, price_cents=100_001)
    enrolment = enrol_one(make, session).enrolment
    share = enrolment.opco_amount_cents
    close_with(enrolment, attended=400, planned=840)
    expected = (share * 400 * 2 + 840) // (2 * 840)  # half up
    assert expected == round(share * 400 / 840)
    assert figures(envelope) == (expected, expected, 0)
    assert enrolment.budget_realised_cents == expected
    reasons = db.session.scalars(select(BudgetMovement.reason).where(BudgetMovement.kind == "released")).all()
    assert any("400/840 min" in r for r in reasons)
    # Reopened for a correction: the full share is committed again, nothing realised until closed again.
    enrolment_states.transition(enrolment, "reopen", None)
    db.session.commit()
    assert figures(envelope) == (share, 0, 0)


def test_an_absent_trainee_releases_everything(make, opco, manager):
    envelope = envelope_for(opco, manager)
    enrolment = enrol_one(make, session_on(make, opco, envelope)).enrolment
    close_with(enrolment, attended=0, planned=840)
    assert figures(envelope) == (0, 0, 0)


def opco_invoice(enrolment, kind="invoice", cents=None, credited=None):
    invoice = Invoice(
        kind=kind,
        payer="opco",
        status="validated" if kind == "invoice" else "issued",
        provider_id=enrolment.provider_id,
        opco_id=enrolment.opco_id,
        session_id=enrolment.session_id,
        credited_invoice_id=credited.id if credited else None,
        total_ht_cents=cents,
        vat_cents=0,
        total_ttc_cents=cents,
    )
    invoice.lines = [
        InvoiceLine(
            position=1,
            kind="training",
            enrolment_id=enrolment.id,
            label="Formation",
            quantity=1,
            unit="stagiaire",
            unit_price_cents=cents,
            vat_rate=0,
            amount_ht_cents=cents,
            vat_cents=0,
        )
    ]
    db.session.add(invoice)
    db.session.flush()
    return invoice


def test_payment_and_credit_note(make, opco, manager):
    envelope = envelope_for(opco, manager)
    enrolment = enrol_one(make, session_on(make, opco, envelope)).enrolment
    close_with(enrolment, attended=420, planned=840)
    realised = enrolment.budget_realised_cents
    invoice = opco_invoice(enrolment, cents=realised)
    assert budgets.record_payment(invoice) == realised
    db.session.commit()
    assert figures(envelope) == (realised, realised, realised)
    assert budgets.record_payment(invoice) == 0  # paying twice moves nothing more
    credit = opco_invoice(enrolment, kind="credit_note", cents=1_000, credited=invoice)
    assert budgets.release_credit_note(credit) == 1_000
    db.session.commit()
    assert figures(envelope) == (realised - 1_000,) * 3
    company_invoice = opco_invoice(enrolment, cents=500)
    company_invoice.payer = "company"
    assert budgets.record_payment(company_invoice) == 0


def test_alerts_once_per_threshold(make, opco, manager):
    share = 100_000  # price HT 1 000 €, funded at 100 %, no VAT for the OPCO's share on an HT basis
    envelope = envelope_for(opco, manager, allotted="10 000")
    session = session_on(make, opco, envelope, price_cents=share)
    alerts = lambda: db.session.scalar(  # noqa: E731
        select(func.count(OutboxMessage.id)).where(OutboxMessage.template == "budget_alert")
    )
    for _ in range(7):
        enrol_one(make, session)
    assert alerts() == 0
    enrol_one(make, session)  # 80 %
    assert alerts() == 1 and fresh(envelope).alerted_pct == 80
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "budget_alert"))
    assert message.recipient == manager.email and "80 %" in message.subject
    first = enrol_one(make, session).enrolment  # 90 %
    enrolments.cancel(first, first.requested_by)  # back to 80 %…
    db.session.commit()
    enrol_one(make, session)  # …and 90 % again: no second alert for 90
    assert alerts() == 2
    enrol_one(make, session)  # 100 %
    assert alerts() == 3
    assert (
        db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "budget.alert")) == 3
    )


def test_exhausted_refuse(make, opco, manager):
    envelope = envelope_for(opco, manager, allotted="1 500")
    session = session_on(make, opco, envelope, price_cents=100_000)
    assert enrol_one(make, session).enrolment.status == S.CONFIRMED
    refused = enrol_one(make, session)
    assert refused.enrolment is None
    assert refused.reason == "Budget de l'OPCO épuisé pour cette action."
    assert figures(envelope) == (100_000, 0, 0)
    assert db.session.get(type(session), session.id).seats_held == 1


def test_exhausted_subject_to_funds_goes_to_approval(make, opco, manager):
    envelope = envelope_for(opco, manager, allotted="1 500", policy="approval")
    session = session_on(make, opco, envelope, price_cents=100_000)
    enrol_one(make, session)
    pending = enrol_one(make, session).enrolment
    assert pending.status == S.PENDING_APPROVAL
    assert pending.status_reason == "Sous réserve des fonds disponibles"
    assert figures(envelope) == (100_000, 0, 0)
    with pytest.raises(DomainError, match="Budget de l'OPCO épuisé"):
        enrolments.approve(pending, manager, opco.id)
    db.session.rollback()
    # The OPCO raises the envelope: approval now commits.
    envelope = fresh(envelope)
    envelopes.update_envelope(
        envelope,
        envelopes.EnvelopeInput(
            label=envelope.label, year=2026, fund="legal", allotted="3 000", when_exhausted="approval"
        ),
        manager,
    )
    enrolments.approve(db.session.get(Enrolment, pending.id), manager, opco.id)
    db.session.commit()
    assert figures(envelope) == (200_000, 0, 0)


def test_exhausted_allow_goes_beyond(make, opco, manager):
    envelope = envelope_for(opco, manager, allotted="1 500", policy="allow")
    session = session_on(make, opco, envelope, price_cents=100_000)
    enrol_one(make, session)
    assert enrol_one(make, session).enrolment.status == S.CONFIRMED
    assert figures(envelope) == (200_000, 0, 0)
    assert fresh(envelope).alerted_pct == 100


def test_envelope_validation_saves_nothing(opco, manager):
    with pytest.raises(InvalidForm) as error:
        envelopes.create_envelope(
            opco,
            envelopes.EnvelopeInput(label="", year="20x6", fund="?", allotted="-5", thresholds="80, abc"),
            manager,
        )
    assert set(error.value.errors) == {"label", "year", "fund", "allotted", "thresholds"}
    db.session.rollback()
    assert db.session.scalar(select(func.count(BudgetEnvelope.id))) == 0


def test_attach_only_own_envelope_and_action(make, opco, manager):
    envelope = envelope_for(opco, manager)
    other = make.opco("opco2i")
    with pytest.raises(DomainError):
        envelopes.attach_action(other, make.action(other).id, envelope.id, manager)
    with pytest.raises(DomainError):
        envelopes.attach_action(opco, make.action(other).id, envelope.id, manager)
    action = envelopes.attach_action(opco, make.action(opco).id, envelope.id, manager)
    assert action.envelope_id == envelope.id


def test_fifty_parallel_enrolments_on_room_for_ten(app_factory, make, opco, manager, monkeypatch):
    """50 requests at once on several sessions of two actions drawing on one envelope with room for exactly 10
    funded shares (policy « refuse »): exactly 10 committed, never beyond the allotted amount."""
    monkeypatch.setattr(locking, "LOCK_TIMEOUT_MS", 60_000)
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 50, "max_overflow": 5, "pool_timeout": 120})
    envelope = envelope_for(opco, manager, allotted="10 000")
    sessions = [session_on(make, opco, envelope, price_cents=100_000) for _ in range(5)]
    requests = []
    for n in range(50):
        company = make.company()
        actor = make.user()
        make.member(company, actor, "hr")
        requests.append((company.id, sessions[n % 5].id, make.employee(company).id, actor.id))
    envelope_id = envelope.id
    db.session.remove()
    barrier = threading.Barrier(len(requests))
    results: list[str | None] = []
    errors: list[BaseException] = []

    def one_request(company_id, session_id, employee_id, actor_id):
        from marketplace.models import Company, User

        try:
            barrier.wait(timeout=60)
            with app.app_context():
                [outcome] = enrolments.enrol(
                    db.session.get(Company, company_id),
                    session_id,
                    [employee_id],
                    db.session.get(User, actor_id),
                )
                db.session.commit()
                results.append(outcome.enrolment.status if outcome.enrolment else outcome.reason)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one_request, args=r) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert results.count(S.CONFIRMED) == 10
    assert results.count("Budget de l'OPCO épuisé pour cette action.") == 40
    with app.app_context():
        envelope = db.session.get(BudgetEnvelope, envelope_id)
        assert envelope.committed_cents == envelope.allotted_cents == 1_000_000
        assert figures(envelope)[0] == 1_000_000
        confirmed = db.session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.envelope_id == envelope_id, Enrolment.status == S.CONFIRMED
            )
        )
        assert confirmed == 10
    assert utcnow()


def test_a_waiting_list_seat_taken_when_exhausted_goes_to_approval(make, opco, manager):
    envelope = envelope_for(opco, manager, allotted="1 500", policy="approval")
    small = session_on(make, opco, envelope, price_cents=100_000)
    small.capacity_max = 1
    db.session.commit()
    other = session_on(make, opco, envelope, price_cents=100_000)
    first = enrol_one(make, small).enrolment
    waiting = enrol_one(make, small).enrolment
    assert waiting.status == S.WAITLISTED and figures(envelope) == (100_000, 0, 0)
    enrolments.cancel(first, first.requested_by)
    db.session.commit()
    assert db.session.get(Enrolment, waiting.id).status == S.OFFERED
    enrol_one(make, other)  # takes the envelope's room meanwhile
    waitlist.accept_offer(db.session.get(Enrolment, waiting.id), waiting.requested_by)
    db.session.commit()
    assert db.session.get(Enrolment, waiting.id).status == S.PENDING_APPROVAL
    assert figures(envelope) == (100_000, 0, 0)


def test_one_request_for_three_people_with_room_for_two(make, opco, manager):
    envelope = envelope_for(opco, manager, allotted="2 500")
    session = session_on(make, opco, envelope, price_cents=100_000)
    company = make.company()
    actor = make.user()
    make.member(company, actor, "hr")
    people = [make.employee(company) for _ in range(3)]
    outcomes = enrolments.enrol(company, session.id, [p.id for p in people], actor)
    db.session.commit()
    assert sorted(o.status for o in outcomes) == [S.CONFIRMED, S.CONFIRMED, "refused_eligibility"]
    assert figures(envelope) == (200_000, 0, 0)
    assert db.session.get(type(session), session.id).seats_held == 2


def test_closing_a_session_realises_from_the_attendance(make, opco, manager):
    """Through the real closing (services.delivery): present all day, late 30 min, absent."""
    from datetime import timedelta

    from marketplace.models import SessionStatus
    from marketplace.services import delivery
    from tests.services.test_attendance import MarkInput, World, _full_half_day, at

    envelope = envelope_for(opco, manager, allotted="10 000")
    trainer = make.user()
    provider = make.provider(admin=trainer)
    action = make.action(opco, duration_hours="7", price_cents=70_000)
    action.envelope_id = envelope.id
    day = paris_today() + timedelta(days=30)
    session = make.session(action, provider, start=day, days=1, status="open")
    company = make.company()
    people = [make.enrolment(session, company, make.employee(company)) for _ in range(3)]
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    w = World(session, trainer, people, day)
    a, b, c = people
    share = a.opco_amount_cents
    assert figures(envelope) == (3 * share, 0, 0)
    _full_half_day(w, w.am, {b.id: MarkInput(0, "late", 30), c.id: MarkInput(0, "absent")})
    _full_half_day(w, w.pm, {c.id: MarkInput(0, "absent")})
    delivery.close_session(w.session, trainer, now=at(day, "18:00"))
    db.session.commit()
    late = (share * 390 * 2 + 420) // (2 * 420)
    assert figures(envelope) == (share + late, share + late, 0)
