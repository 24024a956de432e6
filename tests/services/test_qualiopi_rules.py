"""Funding needs an active referencing and a Qualiopi certificate covering the whole session (C. trav. L6316-1).

Issue 8, cases 3 (a suspended or withdrawn referencing, or a certificate expiring before the session's last
day, blocks enrolments and confirmations; the OPCO and the enrolled companies are told), 4 (the training
organisation renews its certificate, which lifts the suspensions its lapse caused, not an OPCO's) and 12 (the
half-days add up to the action's duration).
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Enrolment, Referencing, TrainingProvider, TrainingSession
from marketplace.services import enrolments, qualiopi, referencing_registry, sessions, waitlist
from marketplace.services.errors import DomainError
from marketplace.services.qualiopi import QualiopiInput
from marketplace.services.session_input import SessionInput, SlotInput

TODAY = paris_today()
START = TODAY + timedelta(days=30)
PDF = b"%PDF-1.4\n% certificat Qualiopi\n%%EOF\n"


def fresh(model, obj):
    return db.session.get(model, obj.id, populate_existing=True)


def enrol_one(make, company, session):
    employee = make.employee(company)
    [outcome] = enrolments.enrol(company, session.id, [employee.id], company.memberships[0].user)
    db.session.commit()
    return outcome


def renewal(**changes) -> QualiopiInput:
    values = dict(
        certifier="Bureau Veritas Certification",
        number="QUA-2026-0042",
        categories=["actions_formation"],
        issued_on=TODAY - timedelta(days=2),
        expires_on=TODAY + timedelta(days=3 * 365 - 10),
        filename="certificat-renouvele.pdf",
        content=PDF,
    )
    values.update(changes)
    return QualiopiInput(**values)


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def opco_staff(make, akto):
    return make.member(akto, make.user(email="catalogue@akto.test"), "catalogue_manager").user


@pytest.fixture
def company(make):
    return make.company(name="Nettoyage Clair")


# --- Case 3: referencing and Qualiopi in the eligibility chain and the confirmations ----------------------


def test_a_suspended_referencing_refuses_enrolments_with_the_reason(make, akto, company):
    session = make.session(make.action(akto, title="Gestes et postures"), make.provider(name="Forma Plus"))
    assert enrol_one(make, company, session).enrolment is not None  # allowed while the referencing is active

    referencing_registry.change_referencing(session.referencing, "suspend", None, reason="Contrôle qualité")
    db.session.commit()

    outcome = enrol_one(make, company, fresh(TrainingSession, session))
    assert outcome.enrolment is None
    assert outcome.reason == (
        "Le référencement de Forma Plus sur cette action est suspendu par l'OPCO (Contrôle qualité) : aucune "
        "inscription ni confirmation n'est possible tant qu'il n'est pas réactivé."
    )


def test_a_withdrawn_referencing_refuses_enrolments(make, akto, company):
    session = make.session(make.action(akto), make.provider(name="Forma Plus"))
    referencing_registry.change_referencing(session.referencing, "withdraw", None, reason="Fin du marché")
    db.session.commit()

    outcome = enrol_one(make, company, fresh(TrainingSession, session))

    assert outcome.enrolment is None
    assert outcome.reason.startswith(
        "L'OPCO a retiré le référencement de Forma Plus sur cette action (Fin du marché)"
    )


def test_a_certificate_expiring_before_the_last_day_refuses_enrolments(make, akto, company):
    action = make.action(akto, title="Gestes et postures")  # 14 h: two days, START and START + 1
    expiring = make.session(action, make.provider(name="Forma Plus", qualiopi_expires_on=START), start=START)
    covered = make.session(action, make.provider(qualiopi_expires_on=START + timedelta(days=1)), start=START)

    outcome = enrol_one(make, company, expiring)

    assert outcome.enrolment is None
    assert outcome.reason == (
        f"Le certificat Qualiopi de Forma Plus expire le {START:%d/%m/%Y}, avant le dernier jour de la session "
        f"({START + timedelta(days=1):%d/%m/%Y}) : l'OPCO ne finance que les sessions couvertes par un certificat "
        "valide jusqu'à leur fin (article L6316-1 du Code du travail)."
    )
    # Valid up to the last day included: enough.
    assert enrol_one(make, company, covered).enrolment is not None


def test_a_certificate_without_actions_de_formation_refuses_enrolments(make, akto, company):
    provider = make.provider(name="Bilans Conseil", qualiopi_categories=["bilans_competences"])
    session = make.session(make.action(akto), provider)

    outcome = enrol_one(make, company, session)

    assert outcome.enrolment is None
    assert "Bilans Conseil ne couvre pas les actions de formation" in outcome.reason


def test_accepting_a_waiting_list_offer_is_refused_once_suspended(make, akto, company):
    session = make.session(make.action(akto), capacity_max=1)
    first = enrol_one(make, company, session).enrolment
    waiting = enrol_one(make, company, session).enrolment
    enrolments.cancel(first, company.memberships[0].user)
    db.session.commit()
    assert fresh(Enrolment, waiting).status == "offered"
    referencing_registry.change_referencing(session.referencing, "suspend", None, reason="Contrôle qualité")
    db.session.commit()

    with pytest.raises(DomainError) as refused:
        waitlist.accept_offer(fresh(Enrolment, waiting), company.memberships[0].user)
    db.session.rollback()

    assert "est suspendu par l'OPCO (Contrôle qualité)" in refused.value.message
    assert fresh(Enrolment, waiting).status == "offered"


def test_the_opco_cannot_approve_an_enrolment_once_the_certificate_no_longer_covers_the_session(
    make, akto, company
):
    provider = make.provider(name="Forma Plus")
    session = make.session(make.action(akto, requires_approval=True), provider, start=START)
    pending = enrol_one(make, company, session).enrolment
    assert pending.status == "pending_approval"
    provider = fresh(TrainingProvider, provider)
    provider.qualiopi_expires_on = START  # e.g. an earlier, corrected expiry date
    db.session.commit()

    with pytest.raises(DomainError) as refused:
        enrolments.approve(fresh(Enrolment, pending), make.user(), akto.id)
    db.session.rollback()

    assert "Le certificat Qualiopi de Forma Plus expire le" in refused.value.message
    assert fresh(Enrolment, pending).status == "pending_approval"


def test_the_session_cannot_be_confirmed_once_its_referencing_is_suspended(make, akto, company):
    session = make.session(make.action(akto), make.provider(name="Forma Plus"))
    enrol_one(make, company, session)
    referencing_registry.change_referencing(session.referencing, "suspend", None, reason="Contrôle qualité")
    db.session.commit()

    with pytest.raises(DomainError) as refused:
        sessions.transition(fresh(TrainingSession, session), "confirm", None)
    db.session.rollback()

    assert refused.value.message.startswith(
        "La session ne peut pas être confirmée. Le référencement de Forma Plus sur cette action est suspendu"
    )
    assert fresh(TrainingSession, session).status == "open"


def test_suspending_tells_the_opco_and_each_company_enrolled_on_coming_sessions(
    make, akto, opco_staff, company, outbox
):
    opco_admin = make.user(email="admin@akto.test")
    make.member(akto, opco_admin, "admin")
    provider = make.provider(name="Forma Plus")
    action = make.action(akto, title="Gestes et postures")
    session = make.session(action, provider, start=START)
    other = make.company(name="Brasserie du Port")
    enrol_one(make, company, session)
    enrol_one(make, company, session)  # two people, one email to the company
    enrol_one(make, other, session)
    elsewhere = make.company(name="Sans rapport")
    enrol_one(make, elsewhere, make.session(make.action(akto), make.provider()))  # another organisation

    referencing_registry.change_referencing(
        fresh(Referencing, session.referencing), "suspend", opco_admin, reason="Contrôle qualité"
    )
    db.session.commit()

    [staff_mail] = [m for m in outbox(opco_staff.email) if m.template == "referencing_stopped_opco"]
    assert staff_mail.subject == "Référencement suspendu : Forma Plus – Gestes et postures"
    assert "Motif : Contrôle qualité" in staff_mail.body_text
    assert "(3 inscriptions, 2 entreprises prévenues par courriel)" in staff_mail.body_text
    assert "Brasserie du Port" in staff_mail.body_text
    assert not [m for m in outbox(opco_admin.email) if m.template == "referencing_stopped_opco"]  # who did it
    [company_mail] = [
        m for m in outbox(company.memberships[0].user.email) if m.template.startswith("referencing")
    ]
    assert (
        company_mail.subject == "Formation « Gestes et postures » : Forma Plus n'est plus référencé par AKTO"
    )
    assert company_mail.body_text.count(f"session du {START:%d/%m/%Y}") == 2
    assert [m.template for m in outbox(other.memberships[0].user.email)][-1] == "referencing_stopped_company"
    assert not [
        m for m in outbox(elsewhere.memberships[0].user.email) if m.template.startswith("referencing")
    ]


def test_the_automatic_suspension_at_expiry_tells_the_opco_and_the_companies(
    make, akto, opco_staff, company, outbox
):
    provider = make.provider(name="Forma Plus", qualiopi_expires_on=TODAY + timedelta(days=40))
    session = make.session(make.action(akto, title="Gestes et postures"), provider, start=START)
    enrol_one(make, company, session)
    later = TODAY + timedelta(days=41)

    assert referencing_registry.suspend_expired(later) == 1
    db.session.commit()

    referencing = fresh(Referencing, session.referencing)
    assert referencing.status == "suspended" and referencing.suspended_for_qualiopi
    [staff_mail] = [m for m in outbox(opco_staff.email) if m.template == "referencing_stopped_opco"]
    assert (
        f"Motif : Certificat Qualiopi expiré le {provider.qualiopi_expires_on:%d/%m/%Y}"
        in staff_mail.body_text
    )
    assert [m.template for m in outbox(company.memberships[0].user.email)][
        -1
    ] == "referencing_stopped_company"


# --- Case 4: the organisation renews its certificate ----------------------------------------------------


def test_renewal_reactivates_what_expiry_suspended_and_enrolments_are_possible_again(
    make, akto, opco_staff, company, outbox
):
    provider = make.provider(name="Forma Plus", qualiopi_expires_on=TODAY - timedelta(days=1))
    lapsed = make.referencing(make.action(akto, title="Gestes et postures"), provider)
    by_hand = make.referencing(make.action(akto, title="Bureautique"), provider)
    session = make.session(lapsed.action, provider, start=START)
    referencing_registry.change_referencing(by_hand, "suspend", None, reason="Plaintes répétées")
    assert referencing_registry.suspend_expired(TODAY) == 1
    db.session.commit()
    refused = enrol_one(make, company, fresh(TrainingSession, session))
    assert refused.enrolment is None and "Certificat Qualiopi expiré le" in refused.reason

    admin = provider.memberships[0].user
    lifted = qualiopi.renew_qualiopi(fresh(TrainingProvider, provider), renewal(), admin, TODAY)
    db.session.commit()

    assert [r.id for r in lifted] == [lapsed.id]
    assert (
        fresh(Referencing, lapsed).status == "active"
        and not fresh(Referencing, lapsed).suspended_for_qualiopi
    )
    assert fresh(Referencing, by_hand).status == "suspended"  # the OPCO's own suspension stays
    provider = fresh(TrainingProvider, provider)
    assert (
        provider.qualiopi_number == "QUA-2026-0042"
        and provider.qualiopi_document_name == "certificat-renouvele.pdf"
    )
    assert qualiopi.qualiopi_document(provider) == ("certificat-renouvele.pdf", PDF)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "provider.qualiopi_renewed"))
    assert event.organisation_id == provider.id and event.data["after"]["number"] == "QUA-2026-0042"
    [mail] = [m for m in outbox(opco_staff.email) if m.template == "referencing_reactivated_qualiopi"]
    assert "Forma Plus a renouvelé son certificat Qualiopi" in mail.subject
    assert "- Gestes et postures" in mail.body_text and "Bureautique" not in mail.body_text
    # Enrolments are possible again.
    assert enrol_one(make, company, fresh(TrainingSession, session)).enrolment is not None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"expires_on": TODAY - timedelta(days=1), "issued_on": TODAY - timedelta(days=400)},
            "qualiopi_expires_on",
            "Ce certificat Qualiopi a déjà expiré",
        ),
        ({"issued_on": TODAY + timedelta(days=1)}, "qualiopi_issued_on", "ne peut pas être dans le futur"),
        ({"expires_on": TODAY + timedelta(days=4 * 365)}, "qualiopi_expires_on", "valable 3 ans au plus"),
        ({"number": ""}, "qualiopi_number", "est obligatoire"),
        ({"categories": []}, "qualiopi_categories", "Cochez au moins une catégorie"),
        ({"content": b""}, "file", "Joignez le certificat Qualiopi au format PDF."),
        ({"filename": "certificat.docx", "content": b"PK\x03\x04..."}, "file", "doit être un fichier PDF"),
        ({"content": b"pas un pdf"}, "file", "ne correspond pas à un fichier PDF"),
    ],
)
def test_renewal_refuses_an_invalid_certificate(make, changes, field, message):
    provider = make.provider()
    before = provider.qualiopi_number

    with pytest.raises(DomainError) as refused:
        qualiopi.renew_qualiopi(provider, renewal(**changes), provider.memberships[0].user, TODAY)
    db.session.rollback()

    assert refused.value.field == field and message in refused.value.message
    assert fresh(TrainingProvider, provider).qualiopi_number == before


def test_renewal_without_actions_de_formation_reactivates_nothing(make, akto):
    provider = make.provider(qualiopi_expires_on=TODAY - timedelta(days=1))
    lapsed = make.referencing(make.action(akto), provider)
    referencing_registry.suspend_expired(TODAY)
    db.session.commit()

    lifted = qualiopi.renew_qualiopi(
        fresh(TrainingProvider, provider),
        renewal(categories=["bilans_competences"]),
        provider.memberships[0].user,
        TODAY,
    )
    db.session.commit()

    assert lifted == [] and fresh(Referencing, lapsed).status == "suspended"


# --- Case 12: the half-days add up to the action's duration ---------------------------------------------


def session_input(referencing, slots) -> SessionInput:
    return SessionInput(
        referencing_id=referencing.id,
        slots=slots,
        registration_deadline=START - timedelta(days=7),
        capacity_min=2,
        capacity_max=12,
        address="12 rue des Formations",
        postal_code="69003",
        city="Lyon",
        region_code="84",
        contact_name="Paul Contact",
        contact_email="paul@of.test",
    )


def day(on: date, am=(time(9), time(12, 30)), pm=(time(13, 30), time(17))) -> list[SlotInput]:
    return [SlotInput(on, "am", *am), SlotInput(on, "pm", *pm)]


@pytest.mark.parametrize(
    ("hours", "slots", "accepted"),
    [
        ("7", [SlotInput(START, "am")], False),  # the case: one half-day for a 7 h action
        ("7", day(START), True),
        ("7", day(START, am=(time(9), time(12))), True),  # 6 h 30: within 10 % (42 min)
        ("7", day(START, am=(time(9), time(12)), pm=(time(13, 30), time(16, 30))), False),  # 6 h: 1 h short
        (
            "14",
            day(START) + day(START + timedelta(days=1), pm=(time(13, 30), time(16))),
            True,
        ),  # 13 h: 1 h short
        (
            "14",
            day(START) + day(START + timedelta(days=1), pm=(time(13, 30), time(15, 45))),
            False,
        ),  # 12 h 45
        (
            "14",
            day(START) + day(START + timedelta(days=1)) + [SlotInput(START + timedelta(days=2), "am")],
            False,
        ),
        ("35", [s for n in range(5) for s in day(START + timedelta(days=n))], True),
        (
            "35",
            [s for n in range(4) for s in day(START + timedelta(days=n))]
            + [SlotInput(START + timedelta(days=4), "am")],
            False,
        ),
    ],
)
def test_the_half_days_must_add_up_to_the_actions_duration(make, akto, hours, slots, accepted):
    provider = make.provider()
    referencing = make.referencing(
        make.action(akto, title="Gestes et postures", duration_hours=hours), provider
    )

    if accepted:
        assert sessions.create_session(provider, session_input(referencing, slots), make.user(), TODAY).id
        return
    with pytest.raises(DomainError) as refused:
        sessions.create_session(provider, session_input(referencing, slots), make.user(), TODAY)
    db.session.rollback()
    assert refused.value.field == "slots"
    assert refused.value.message.startswith("Les demi-journées totalisent ")
    assert f"alors que l'action « Gestes et postures » dure {hours} h" in refused.value.message


def test_the_length_rule_applies_to_edits_of_the_half_days_and_to_postponements(make, akto):
    provider = make.provider()
    action = make.action(akto, title="Gestes et postures", duration_hours="7")
    referencing = make.referencing(action, provider)
    session = sessions.create_session(provider, session_input(referencing, day(START)), make.user(), TODAY)
    db.session.commit()

    with pytest.raises(DomainError, match="Les demi-journées totalisent 3 h 30 alors que"):
        sessions.update_session(
            session, session_input(referencing, [SlotInput(START, "am")]), make.user(), TODAY
        )
    db.session.rollback()
    session = fresh(TrainingSession, session)
    sessions.transition(session, "publish", None)
    db.session.commit()
    with pytest.raises(DomainError, match="Les demi-journées totalisent 3 h 30 alors que"):
        sessions.transition(
            fresh(TrainingSession, session),
            "postpone",
            None,
            new_slots=[SlotInput(START + timedelta(days=7), "pm")],
        )
    db.session.rollback()
    moved = sessions.transition(
        fresh(TrainingSession, session), "postpone", None, new_slots=day(START + timedelta(days=7))
    )
    assert moved.status == "postponed" and moved.start_date == START + timedelta(days=7)
