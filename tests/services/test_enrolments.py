"""Enrolment rules: eligibility chain, funding, seats, waiting list, cancellation, replacement, approval."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Enrolment, EnrolmentStatus, OutboxMessage, TrainingSession
from marketplace.services import (
    eligibility,
    enrolment_reads,
    enrolment_states,
    enrolments,
    funding,
    locking,
    session_enrolments,
    waitlist,
)
from marketplace.services.errors import DomainError

S = EnrolmentStatus


def statuses(session_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Enrolment.status).where(Enrolment.session_id == session_id).order_by(Enrolment.id)
        )
    )


def fresh(session):
    return db.session.get(TrainingSession, session.id, populate_existing=True)


@pytest.fixture
def company(make):
    return make.company(opco_code="akto", headcount=20)


@pytest.fixture
def hr(make, company):
    user = make.user()
    make.member(company, user, "hr")
    return user


# --- Eligibility: each reason, in order -------------------------------------------------------------------


def reasons_for(company, session, today=None):
    counts = eligibility.company_counts(company, [session])
    return eligibility.blockers(company, session, today or paris_today(), counts)


def test_an_open_session_of_its_opco_has_no_blocker(make, company):
    assert reasons_for(company, make.session()) == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("draft", "pas encore ouverte"),
        ("registrations_closed", "inscriptions sont closes"),
        ("cancelled", "session est annulée"),
        ("postponed", "session est reportée"),
    ],
)
def test_session_not_open(make, company, status, expected):
    assert expected in reasons_for(company, make.session(status=status))[0]


def test_unpublished_action(make, company):
    action = make.action(status="archived")
    assert reasons_for(company, make.session(action))[0] == "Cette action n'est plus au catalogue de l'OPCO."


def test_registration_deadline_passed(make, company):
    session = make.session(
        start=paris_today() + timedelta(days=5), registration_deadline=paris_today() - timedelta(days=1)
    )
    deadline = (paris_today() - timedelta(days=1)).strftime("%d/%m/%Y")
    assert reasons_for(company, session) == [f"La date limite d'inscription ({deadline}) est dépassée."]


def test_other_opco(make):
    company = make.company(opco_code="atlas")
    session = make.session(make.action(make.opco("akto")))
    assert reasons_for(company, session)[0] == (
        "Cette action est financée par AKTO, qui n'est pas l'OPCO de votre entreprise."
    )


def test_company_without_opco(make):
    company = make.company(opco_code=None)
    assert (
        reasons_for(company, make.session())[0]
        == "Votre entreprise n'est rattachée à aucun OPCO de la plateforme."
    )


def test_other_branch(make):
    akto = make.opco("akto")
    company = make.company(opco_code="akto", idcc="1979")
    action = make.action(akto, idcc_codes=["3043"])
    assert reasons_for(company, make.session(action)) == [
        "Cette action est réservée à d'autres branches que la vôtre (IDCC 1979)."
    ]


def test_size_band_not_eligible(make):
    company = make.company(headcount=120)
    action = make.action(shares={"<11": 100, "11-49": 100})
    assert reasons_for(company, make.session(action)) == [
        "Cette action n'est pas ouverte aux entreprises de votre taille (de 50 à 249 salariés)."
    ]


def test_region_scope(make):
    company = make.company(region_code="11")
    action = make.action(regions=["84", "93"])
    assert reasons_for(company, make.session(action)) == [
        "Cette action est réservée aux entreprises des régions : Auvergne-Rhône-Alpes, Provence-Alpes-Côte d'Azur."
    ]


def test_caps_per_session_and_per_year(make, company, hr):
    action = make.action(cap_per_company_per_session=2, cap_per_company_per_year=3)
    first = make.session(action)
    second = make.session(action, start=paris_today() + timedelta(days=60))
    people = [make.employee(company) for _ in range(4)]
    outcomes = enrolments.enrol(company, first.id, [p.id for p in people[:3]], hr)
    db.session.commit()
    assert [o.status for o in outcomes] == ["confirmed", "confirmed", "refused_eligibility"]
    assert (
        outcomes[2].reason
        == "Votre entreprise a atteint le plafond de 2 places par entreprise sur cette session."
    )
    outcomes = enrolments.enrol(company, second.id, [people[2].id, people[3].id], hr)
    assert [o.status for o in outcomes] == ["confirmed", "refused_eligibility"]
    assert "plafond de 3 places par an sur cette action" in outcomes[1].reason


def test_employee_already_enrolled_or_busy_elsewhere(make, company, hr):
    employee = make.employee(company, last_name="Martin", first_name="Léa")
    start = paris_today() + timedelta(days=40)
    first = make.session(start=start)
    overlapping = make.session(start=start + timedelta(days=1))
    enrolments.enrol(company, first.id, [employee.id], hr)
    db.session.commit()
    [again] = enrolments.enrol(company, first.id, [employee.id], hr)
    assert again.reason == "Léa Martin est déjà inscrit(e) sur cette session."
    [busy] = enrolments.enrol(company, overlapping.id, [employee.id], hr)
    assert (
        busy.enrolment is None
        and "est déjà inscrit(e) à « " in busy.reason
        and "aux mêmes dates" in busy.reason
    )


def test_an_employee_of_another_company_is_refused_and_nothing_changes(make, company, hr):
    other = make.company()
    stranger = make.employee(other)
    session = make.session()
    with pytest.raises(DomainError, match="ne figure pas dans votre registre"):
        enrolments.enrol(company, session.id, [stranger.id], hr)
    db.session.rollback()
    assert statuses(session.id) == []


# --- Funding figures ----------------------------------------------------------------------------------------


def test_funding_depends_on_the_size_band(make):
    action = make.action(price_cents=123_456, shares={"<11": 100, "11-49": 100, "50-249": 50, "250-299": 30})
    vat_provider = make.provider(vat_regime="assujetti")
    session = make.session(action, vat_provider)
    small = funding.for_session(session, "<11")
    # Funded on the HT price by default: even at 100 %, the company owes the VAT on the whole price.
    assert (small.funded_cents, small.remainder_cents, small.remainder_ttc_cents) == (123_456, 0, 24_691)
    medium = funding.for_session(session, "50-249")
    assert (medium.funded_cents, medium.remainder_cents) == (61_728, 61_728)
    # 1 234,56 € HT + 20 % = 1 481,47 € TTC, less the 617,28 € the OPCO pays.
    assert (medium.price_ttc_cents, medium.remainder_ttc_cents) == (148_147, 86_419)
    large = funding.for_session(session, "250-299")
    assert (large.funded_cents, large.remainder_cents) == (37_037, 86_419)  # 30 % of 1 234,56 = 370,368
    assert not funding.for_session(session, "300+").eligible


def test_enrolment_freezes_the_funding_of_its_company(make, hr):
    company = make.company(headcount=80)
    session = make.session(make.action(price_cents=90_000, shares={"50-249": 50}))
    [outcome] = enrolments.enrol(company, session.id, [make.employee(company).id], hr)
    e = outcome.enrolment
    assert (e.price_cents, e.funded_cents, e.remainder_cents, e.size_band) == (
        90_000,
        45_000,
        45_000,
        "50-249",
    )


# --- Seats and waiting list -------------------------------------------------------------------------------


def test_seats_then_waiting_list(make, company, hr):
    session = make.session(capacity_max=2)
    people = [make.employee(company) for _ in range(3)]
    outcomes = enrolments.enrol(company, session.id, [p.id for p in people], hr)
    db.session.commit()
    assert sorted(o.status for o in outcomes) == ["confirmed", "confirmed", "waitlisted"]
    assert fresh(session).seats_held == 2
    waiting = next(o.enrolment for o in outcomes if o.status == "waitlisted")
    assert enrolment_reads.waitlist_position(waiting) == 1


def test_approval_required_holds_the_seat_then_opco_decides(make, company, hr, outbox):
    opco_user = make.user()
    akto = make.opco("akto")
    session = make.session(make.action(akto, requires_approval=True), capacity_max=1)
    a, b = make.employee(company), make.employee(company)
    [first] = enrolments.enrol(company, session.id, [a.id], hr)
    [second] = enrolments.enrol(company, session.id, [b.id], hr)
    db.session.commit()
    assert (first.status, second.status) == ("pending_approval", "waitlisted")
    assert fresh(session).seats_held == 1

    enrolments.refuse(first.enrolment, opco_user, akto.id, "Budget de la branche épuisé")
    db.session.commit()
    assert statuses(session.id) == ["refused", "offered"]  # the freed seat is offered to the next person
    assert fresh(session).seats_held == 0
    refused_mail = [m for m in outbox(hr.email) if "refusée" in m.subject]
    assert refused_mail and "Budget de la branche épuisé" in refused_mail[0].body_text

    offered = db.session.get(Enrolment, second.enrolment.id)
    waitlist.accept_offer(offered, hr)
    db.session.commit()
    assert statuses(session.id) == ["refused", "pending_approval"]
    enrolments.approve(db.session.get(Enrolment, offered.id), opco_user, akto.id)
    db.session.commit()
    assert statuses(session.id) == ["refused", "confirmed"]
    audit_actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.organisation_id == akto.id))
    )
    assert {"enrolment.refuse", "enrolment.approve"} <= audit_actions


def test_refusal_needs_a_reason(make, company, hr):
    akto = make.opco("akto")
    session = make.session(make.action(akto, requires_approval=True))
    e = make.enrolment(session, company, actor=hr)
    with pytest.raises(DomainError, match="motif du refus"):
        enrolments.refuse(e, make.user(), akto.id, " ")


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("confirmed", "approve"),
        ("waitlisted", "approve"),
        ("confirmed", "refuse"),
        ("cancelled", "cancel"),
        ("refused", "cancel"),
        ("confirmed", "offer"),
        ("confirmed", "accept_offer"),
        ("waitlisted", "accept_offer"),
        ("waitlisted", "decline_offer"),
        ("cancelled", "session_cancelled"),
    ],
)
def test_refused_transitions(make, company, hr, status, event):
    e = make.enrolment(make.session(), company, actor=hr)
    e.status = status  # set up the starting state directly (the point is what transition refuses)
    db.session.commit()
    with pytest.raises(DomainError, match="Action impossible"):
        enrolment_states.transition(e, event, hr)


def test_allowed_transitions_are_declared_once():
    m = enrolment_states.ENROLMENT
    assert sorted(m.allowed("waitlisted")) == ["cancel", "close_waitlist", "offer", "session_cancelled"]
    assert sorted(m.allowed("offered")) == [
        "accept_offer",
        "accept_offer_for_approval",
        "cancel",
        "close_waitlist",
        "decline_offer",
        "expire_offer",
        "session_cancelled",
    ]
    assert sorted(m.allowed("pending_approval")) == ["approve", "cancel", "refuse", "session_cancelled"]
    assert m.allowed("refused") == [] and m.allowed("cancelled") == [] and m.allowed("waitlist_closed") == []


def test_offer_decline_goes_to_the_next_person(make, company, hr, outbox):
    session = make.session(capacity_max=1)
    holder, second, third = (make.employee(company) for _ in range(3))
    first = make.enrolment(session, company, holder, actor=hr)
    w2 = make.enrolment(session, company, second, actor=hr)
    w3 = make.enrolment(session, company, third, actor=hr)
    assert (w2.status, w3.status) == ("waitlisted", "waitlisted")

    enrolments.cancel(first, hr)
    db.session.commit()
    assert statuses(session.id) == ["cancelled", "offered", "waitlisted"]
    offer = db.session.get(Enrolment, w2.id)
    assert offer.offer_expires_at is not None
    assert any("Une place s'est libérée" in m.subject for m in outbox(hr.email))

    waitlist.decline_offer(offer, hr)
    db.session.commit()
    assert statuses(session.id) == ["cancelled", "offer_declined", "offered"]


def test_offer_expires_by_itself_and_moves_on(make, company, hr):
    akto = make.opco("akto")
    akto.waitlist_offer_hours = 24
    db.session.commit()
    session = make.session(make.action(akto), capacity_max=1)
    people = [make.employee(company) for _ in range(3)]
    first = make.enrolment(session, company, people[0], actor=hr)
    second = make.enrolment(session, company, people[1], actor=hr)
    make.enrolment(session, company, people[2], actor=hr)
    enrolments.cancel(first, hr)
    db.session.commit()
    offered = db.session.get(Enrolment, second.id)
    later = offered.offer_expires_at + timedelta(minutes=1)

    # Past the window, the offer no longer holds the seat, even before any job has run…
    assert enrolment_reads.seats_left(fresh(session), later) == 1
    with pytest.raises(DomainError, match="La proposition a expiré"):
        waitlist.accept_offer(offered, hr, now=later)
    db.session.rollback()
    # …and the expiry command closes it and offers the seat to the next person.
    assert waitlist.expire_offers(now=later) == 1
    assert statuses(session.id) == ["cancelled", "offer_expired", "offered"]


def test_accepting_an_offer_confirms_and_takes_the_seat(make, company, hr):
    session = make.session(capacity_max=1)
    first = make.enrolment(session, company, actor=hr)
    second = make.enrolment(session, company, actor=hr)
    enrolments.cancel(first, hr)
    db.session.commit()
    waitlist.accept_offer(db.session.get(Enrolment, second.id), hr)
    db.session.commit()
    assert statuses(session.id) == ["cancelled", "confirmed"]
    assert fresh(session).seats_held == 1


# --- Cancellation deadline in jours ouvrés ------------------------------------------------------------------


def _session_starting(make, start: date, days: int):
    action = make.action(cancellation_days=days)
    return make.session(action, start=start, registration_deadline=start - timedelta(days=1))


@pytest.mark.parametrize(
    ("cancel_day", "late"),
    [
        (datetime(2027, 5, 5, 13), False),  # Wednesday 5 May, 15h in Paris: the last free day
        (datetime(2027, 5, 6, 8), True),  # Thursday 6 May (Ascension)
        (datetime(2027, 5, 7, 8), True),  # Friday 7 May
    ],
)
def test_cancellation_deadline_skips_weekend_and_public_holiday(make, company, hr, cancel_day, late):
    """Session on Tuesday 11 May 2027, 3 jours ouvrés: Monday 10 (1), Friday 7 (2), Ascension Thursday 6 is
    a public holiday and 8–9 May a weekend, Wednesday 5 (3): free cancellation until Wednesday 5 May."""
    with time_machine.travel(datetime(2027, 4, 1, 10), tick=False):
        session = _session_starting(make, date(2027, 5, 11), days=3)
        e = make.enrolment(session, company, actor=hr)
    assert enrolment_reads.cancellation_deadline(session) == date(2027, 5, 5)
    with time_machine.travel(cancel_day, tick=False):
        enrolments.cancel(e, hr)
        db.session.commit()
    e = db.session.get(Enrolment, e.id)
    assert e.status == "cancelled" and e.is_late_cancellation is late


def test_deadline_across_ascension_thursday(make):
    # Ascension 2027 is Thursday 6 May: 2 jours ouvrés before Monday 10 May are Friday 7 and Wednesday 5.
    session = _session_starting(make, date(2027, 5, 10), days=2)
    assert enrolment_reads.cancellation_deadline(session) == date(2027, 5, 5)


def test_postponement_frees_earlier_enrolments_from_the_deadline(make, company, hr):
    with time_machine.travel(datetime(2027, 4, 1, 10), tick=False):
        session = _session_starting(make, date(2027, 5, 11), days=3)
        e = make.enrolment(session, company, actor=hr)
    session = fresh(session)
    session.postponed_at = datetime(2027, 4, 20, 12)
    db.session.commit()
    with time_machine.travel(datetime(2027, 5, 7, 8), tick=False):
        enrolments.cancel(e, hr)
        db.session.commit()
    assert db.session.get(Enrolment, e.id).is_late_cancellation is False


def test_cancelling_a_waitlisted_enrolment_is_never_late(make, company, hr):
    session = make.session(
        capacity_max=1, start=paris_today() + timedelta(days=3), registration_deadline=paris_today()
    )
    make.enrolment(session, company, actor=hr)
    waiting = make.enrolment(session, company, actor=hr)
    enrolments.cancel(waiting, hr)
    db.session.commit()
    assert db.session.get(Enrolment, waiting.id).is_late_cancellation is False


# --- Replacement ------------------------------------------------------------------------------------------------


def test_replacement_keeps_the_seat_and_is_audited(make, company, hr, outbox):
    session = make.session(capacity_max=1)
    original = make.employee(company)
    substitute = make.employee(company, first_name="Nora", email="nora@exemple.test")
    e = make.enrolment(session, company, original, actor=hr)
    enrolments.replace(e, substitute.id, hr)
    db.session.commit()
    e = db.session.get(Enrolment, e.id)
    assert (e.employee_id, e.status, fresh(session).seats_held) == (substitute.id, "confirmed", 1)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "enrolment.replaced")).data == {
        "from_employee": original.id,
        "to_employee": substitute.id,
    }
    assert outbox("nora@exemple.test")


def test_replacement_refusals(make, company, hr):
    session = make.session()
    e = make.enrolment(session, company, actor=hr)
    already = make.enrolment(session, company, actor=hr)
    stranger = make.employee(make.company())
    with pytest.raises(DomainError, match="Choisissez un salarié de votre registre"):
        enrolments.replace(e, stranger.id, hr)
    db.session.rollback()
    with pytest.raises(DomainError, match="déjà inscrit"):
        enrolments.replace(e, already.employee_id, hr)
    db.session.rollback()
    newcomer = make.employee(company)
    noon = datetime.combine(session.start_date, datetime.min.time()) + timedelta(hours=12)
    with time_machine.travel(noon), pytest.raises(DomainError, match="La session a commencé"):
        enrolments.replace(e, newcomer.id, hr)


# --- Session cancelled -----------------------------------------------------------------------------------------


def test_cancel_for_session_ends_every_live_enrolment_and_tells_everyone(make, company, hr, outbox):
    session = make.session(capacity_max=1)
    confirmed = make.enrolment(session, company, make.employee(company, email="a@exemple.test"), actor=hr)
    waiting = make.enrolment(session, company, make.employee(company, email="b@exemple.test"), actor=hr)
    assert session_enrolments.cancel_for_session(fresh(session), None, "Formateur indisponible") == 2
    db.session.commit()
    assert statuses(session.id) == ["session_cancelled", "session_cancelled"]
    assert fresh(session).seats_held == 0
    assert len([m for m in outbox(hr.email) if "Session annulée" in m.subject]) == 2
    assert "Formateur indisponible" in outbox("a@exemple.test")[-1].body_text
    assert confirmed.id != waiting.id


# --- Notifications -------------------------------------------------------------------------------------------------


def test_confirmation_goes_to_the_company_contact_and_the_trainee(make, company, hr, outbox):
    session = make.session()
    employee = make.employee(company, email="trainee@exemple.test")
    make.enrolment(session, company, employee, actor=hr)
    [contact_mail] = outbox(hr.email)
    assert contact_mail.subject.startswith("Inscription confirmée")
    assert "Reste à charge" in contact_mail.body_text or "reste à charge" in contact_mail.body_text
    [trainee_mail] = outbox("trainee@exemple.test")
    assert "Votre inscription" in trainee_mail.subject


def test_a_rolled_back_enrolment_sends_nothing(make, company, hr):
    session = make.session()
    employee = make.employee(company)
    enrolments.enrol(company, session.id, [employee.id], hr)
    db.session.rollback()
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert statuses(session.id) == []


# --- Concurrency --------------------------------------------------------------------------------------------------


def test_forty_parallel_enrolments_on_ten_seats_never_overbook(app_factory, make, monkeypatch):
    """40 requests at once on a session with 10 seats left: exactly 10 hold a seat, 30 wait, no error.

    The lock wait is raised far above the 40 queued transactions' total (this is about seats, not about the
    « réessayez » answer, which tests/web/test_lifecycle.py covers), so a slow machine cannot fail it.

    Each request runs in its own thread with its own connection (as 40 gunicorn threads would), so they
    really compete for the session's row lock (PostgreSQL) or the write lock (SQLite).
    """
    monkeypatch.setattr(locking, "LOCK_TIMEOUT_MS", 60_000)
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 40, "max_overflow": 5, "pool_timeout": 120})
    session = make.session(capacity_max=12)
    seed_company = make.company()
    make.enrolment(session, seed_company)
    make.enrolment(session, seed_company)  # 10 seats left
    requests = []
    for _ in range(40):
        company = make.company()
        actor = make.user()
        make.member(company, actor, "hr")
        requests.append((company.id, make.employee(company).id, actor.id))
    session_id = session.id
    db.session.remove()

    barrier = threading.Barrier(len(requests))
    errors: list[BaseException] = []

    def one_request(company_id: int, employee_id: int, actor_id: int) -> None:
        from marketplace.models import Company, User

        try:
            barrier.wait(
                timeout=30
            )  # all start together (connections then come from the pool as in production)
            with app.app_context():
                company = db.session.get(Company, company_id)
                actor = db.session.get(User, actor_id)
                enrolments.enrol(company, session_id, [employee_id], actor)
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one_request, args=r) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    counts = dict(
        db.session.execute(
            select(Enrolment.status, func.count(Enrolment.id))
            .where(Enrolment.session_id == session_id)
            .group_by(Enrolment.status)
        ).all()
    )
    assert counts == {"confirmed": 12, "waitlisted": 30}
    assert db.session.get(TrainingSession, session_id).seats_held == 12


# --- Caps: per SIREN, over the action's campaign, waiting list not counted (issue 8, case 5) -------------------


def test_waiting_list_places_do_not_count_against_the_caps(make, company, hr):
    action = make.action(cap_per_company_per_year=2)
    full = make.session(action, capacity_max=1)
    other = make.session(action, start=paris_today() + timedelta(days=60))
    people = [make.employee(company) for _ in range(4)]
    outcomes = enrolments.enrol(company, full.id, [p.id for p in people[:3]], hr)
    db.session.commit()
    assert sorted(o.status for o in outcomes) == ["confirmed", "waitlisted", "waitlisted"]
    # Two people waiting do not stop a fourth from taking a free seat on another session.
    [outcome] = enrolments.enrol(company, other.id, [people[3].id], hr)
    db.session.commit()
    assert outcome.status == "confirmed"
    # A seat freed on the full session is offered to the next person waiting; meanwhile the company takes
    # its second place elsewhere, so the offered seat cannot be taken any more.
    first = next(o.enrolment for o in outcomes if o.status == "confirmed")
    enrolments.cancel(db.session.get(Enrolment, first.id), hr)
    db.session.commit()
    [outcome] = enrolments.enrol(company, other.id, [make.employee(company).id], hr)
    db.session.commit()
    assert outcome.status == "confirmed"
    offered = db.session.scalar(
        select(Enrolment).where(Enrolment.session_id == full.id, Enrolment.status == "offered")
    )
    with pytest.raises(DomainError, match="plafond de 2 place"):
        waitlist.accept_offer(offered, hr)


def test_caps_count_every_establishment_of_the_same_siren(make):
    from marketplace.services.demo import make_siret

    head_office = make.company(opco_code="akto", siret=make_siret("51234567", "0001"))
    branch = make.company(opco_code="akto", siret=make_siret("51234567", "0002"))
    assert head_office.siren == branch.siren
    action = make.action(cap_per_company_per_session=1, cap_per_company_per_year=2)
    session = make.session(action)
    make.enrolment(session, head_office)
    [refused] = enrolments.enrol(branch, session.id, [make.employee(branch).id], make.user())
    assert (
        refused.reason == "Votre entreprise a atteint le plafond de 1 place par entreprise sur cette session."
    )


def test_the_yearly_cap_counts_every_session_of_the_campaign(make, company, hr):
    today = paris_today()
    action = make.action(cap_per_company_per_year=1, campaign_year=today.year)
    next_year = make.session(action, start=date(today.year + 1, 2, 1))
    this_year = make.session(action, start=today + timedelta(days=20))
    make.enrolment(next_year, company, actor=hr)
    [refused] = enrolments.enrol(company, this_year.id, [make.employee(company).id], hr)
    assert refused.reason == (
        f"Votre entreprise a atteint le plafond de 1 place par an sur cette action (campagne {today.year})."
    )


# --- Rules frozen on the enrolment (case 7) -----------------------------------------------------------------------


def test_the_notice_period_and_caps_are_frozen_on_the_enrolment(make, company, hr):
    with time_machine.travel(datetime(2027, 4, 1, 10), tick=False):
        session = _session_starting(make, date(2027, 5, 11), days=3)
        session.action.cap_per_company_per_session = 4
        db.session.commit()
        e = make.enrolment(session, company, actor=hr)
    assert (e.cancellation_days, e.cap_per_session, e.cap_per_year) == (3, 4, None)
    action = session.action
    action.cancellation_days = 10
    action.cap_per_company_per_session = 1
    db.session.commit()
    e = db.session.get(Enrolment, e.id)
    assert enrolment_reads.cancellation_deadline(e) == date(2027, 5, 5)  # still 3 jours ouvrés
    assert enrolment_reads.cancellation_deadline(fresh(session)) < date(2027, 5, 5)  # new enrolments: 10
    with time_machine.travel(datetime(2027, 5, 4, 8), tick=False):
        enrolments.cancel(e, hr)
        db.session.commit()
    assert db.session.get(Enrolment, e.id).is_late_cancellation is False


# --- Public holidays of the place of delivery (case 8) ---------------------------------------------------------------


def _session_in(make, postal_code: str, region_code: str, start: date, days: int):
    session = _session_starting(make, start, days)
    session.postal_code, session.region_code = postal_code, region_code
    db.session.commit()
    return session


def test_good_friday_is_a_holiday_in_moselle_only(make):
    # Tuesday 30 March 2027, 2 jours ouvrés: Easter Monday 29 is a holiday everywhere; Good Friday 26 March
    # only in Alsace-Moselle.
    assert enrolment_reads.cancellation_deadline(
        _session_in(make, "69003", "84", date(2027, 3, 30), 2)
    ) == date(2027, 3, 25)
    assert enrolment_reads.cancellation_deadline(
        _session_in(make, "57000", "44", date(2027, 3, 30), 2)
    ) == date(2027, 3, 24)
    assert enrolment_reads.cancellation_deadline(
        _session_in(make, "67000", "44", date(2027, 3, 30), 2)
    ) == date(2027, 3, 24)


def test_saint_stephen_is_a_holiday_in_moselle():
    from marketplace.services.calendar import is_working_day

    assert is_working_day(date(2025, 12, 26)) and not is_working_day(date(2025, 12, 26), "57")


def test_la_reunion_has_its_own_abolition_day(make, company, hr):
    # Wednesday 22 December 2027, 2 jours ouvrés: 20 December is a holiday in La Réunion only.
    mainland = _session_in(make, "69003", "84", date(2027, 12, 22), 2)
    reunion = _session_in(make, "97411", "04", date(2027, 12, 22), 2)
    assert enrolment_reads.cancellation_deadline(mainland) == date(2027, 12, 20)
    assert enrolment_reads.cancellation_deadline(reunion) == date(2027, 12, 17)
    with time_machine.travel(datetime(2027, 11, 1, 10), tick=False):
        e = make.enrolment(reunion, company, actor=hr)
    with time_machine.travel(datetime(2027, 12, 20, 8), tick=False):
        enrolments.cancel(e, hr)
        db.session.commit()
    assert db.session.get(Enrolment, e.id).is_late_cancellation is True


# --- Rules spanning sessions under concurrency (case 6) ---------------------------------------------------------------


def _run_in_parallel(app, calls) -> list[BaseException]:
    """Run each ``(function, args)`` in its own thread and connection, all released at once.

    A ``LockBusy`` (« réessayez », nothing saved) is an acceptable answer under load; any other error is not.
    """
    from marketplace.services.locking import LockBusy

    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(function, args):
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                try:
                    function(*args)
                    db.session.commit()
                except LockBusy:
                    db.session.rollback()
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def _rounds() -> int:
    """20 repetitions on PostgreSQL, where requests on different sessions really run at the same time (the
    races of issue 8 showed there in 5 trials out of 6); SQLite serialises writers, so a few suffice there."""
    import os

    return 20 if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") else 3


_ROUNDS = _rounds()


def _enrol_one(company_id: int, session_id: int, employee_id: int, actor_id: int) -> None:
    from marketplace.models import Company, User

    enrolments.enrol(
        db.session.get(Company, company_id), session_id, [employee_id], db.session.get(User, actor_id)
    )


def test_parallel_enrolments_across_sessions_respect_the_yearly_cap(app_factory, make, hr):
    """20 employees of one company at once on 4 sessions of an action capped at 3 a year: exactly 3 places,
    every time (20 times on PostgreSQL)."""
    from marketplace.models import Employee

    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 5, "pool_timeout": 120})
    action = make.action(cap_per_company_per_year=3)
    session_ids = [
        make.session(action, start=paris_today() + timedelta(days=30 + 3 * i), capacity_max=20).id
        for i in range(4)
    ]
    rounds = []
    for _ in range(_ROUNDS):  # a new company each round, with its own cap
        company = make.company(opco_code="akto", admin=hr)
        people = [
            Employee(company_id=company.id, last_name=f"Parallèle{i}", first_name="Camille")
            for i in range(20)
        ]
        db.session.add_all(people)
        db.session.commit()
        rounds.append((company.id, [p.id for p in people]))
    actor_id = hr.id
    db.session.remove()

    for company_id, employee_ids in rounds:
        calls = [
            (_enrol_one, (company_id, session_ids[i % 4], employee_id, actor_id))
            for i, employee_id in enumerate(employee_ids)
        ]
        assert _run_in_parallel(app, calls) == []
        confirmed = db.session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.company_id == company_id, Enrolment.status == "confirmed"
            )
        )
        assert confirmed == 3
        db.session.remove()


def test_the_same_employee_on_two_overlapping_sessions_in_parallel_gets_one(app_factory, make, company, hr):
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 2, "pool_timeout": 120})
    start = paris_today() + timedelta(days=40)
    first = make.session(start=start, capacity_max=30)
    second = make.session(start=start + timedelta(days=1), capacity_max=30)  # shares the second day
    people = [make.employee(company).id for _ in range(_ROUNDS)]
    ids = (first.id, second.id)
    company_id, actor_id = company.id, hr.id
    db.session.remove()

    for employee_id in people:
        calls = [(_enrol_one, (company_id, session_id, employee_id, actor_id)) for session_id in ids]
        assert _run_in_parallel(app, calls) == []
        live = db.session.scalar(
            select(func.count(Enrolment.id)).where(
                Enrolment.employee_id == employee_id, Enrolment.status.in_(EnrolmentStatus.ACTIVE)
            )
        )
        assert live == 1
        db.session.remove()


def test_enrolling_while_the_company_cancels_on_the_same_session_never_deadlocks(
    app_factory, make, company, hr
):
    """The company lock must not wait on what a session-lock holder writes for the company (its audit and
    emails reference the company's organisation row): enrol (company, then session) against cancel (session,
    then an audit event of the company), at once, 20 times on PostgreSQL."""
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4, "max_overflow": 2, "pool_timeout": 120})
    session = make.session(capacity_max=2 * _ROUNDS + 2)
    pairs = [
        (make.enrolment(session, company, actor=hr).id, make.employee(company).id) for _ in range(_ROUNDS)
    ]
    session_id, company_id, actor_id = session.id, company.id, hr.id
    db.session.remove()

    def cancel_one(enrolment_id: int, actor_id: int) -> None:
        from marketplace.models import User

        enrolments.cancel(db.session.get(Enrolment, enrolment_id), db.session.get(User, actor_id))

    for enrolment_id, employee_id in pairs:
        calls = [
            (_enrol_one, (company_id, session_id, employee_id, actor_id)),
            (cancel_one, (enrolment_id, actor_id)),
        ]
        assert _run_in_parallel(app, calls) == []
