"""The referencing registry and the automatic suspension of referencings when Qualiopi expires."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Referencing, TrainingSession
from marketplace.services import referencing_registry, sessions
from marketplace.services.errors import DomainError
from marketplace.services.session_input import SessionInput, SlotInput

TODAY = paris_today()
START = TODAY + timedelta(days=30)


def fresh(referencing) -> Referencing:
    return db.session.get(Referencing, referencing.id, populate_existing=True)


def session_input(referencing) -> SessionInput:
    return SessionInput(
        referencing_id=referencing.id,
        slots=[SlotInput(START, "am", time(9), time(12, 30)), SlotInput(START, "pm")],
        registration_deadline=START - timedelta(days=7),
        capacity_min=4,
        capacity_max=12,
        address="12 rue des Formations",
        postal_code="69003",
        city="Lyon",
        region_code="84",
        contact_name="Paul Contact",
        contact_email="paul@of.test",
    )


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def expired(make):
    """An organisation whose Qualiopi certificate expired three days ago."""
    return make.provider(name="Formations Expirées", qualiopi_expires_on=TODAY - timedelta(days=3))


def test_registry_lists_the_opcos_referencings_with_filters(make, akto):
    first = make.action(akto, title="A – Bureautique")
    second = make.action(akto, title="B – Management")
    one = make.referencing(first, make.provider(name="Zeta"))
    two = make.referencing(first, make.provider(name="Alpha"), status="suspended")
    three = make.referencing(second)
    make.referencing(make.action(make.opco("atlas")))  # another OPCO's

    assert [r.id for r in referencing_registry.registry(akto)] == [two.id, one.id, three.id]
    assert [r.id for r in referencing_registry.registry(akto, action_id=first.id)] == [two.id, one.id]
    assert [r.id for r in referencing_registry.registry(akto, status="suspended")] == [two.id]
    assert [a.id for a in referencing_registry.registry_actions(akto)] == [first.id, second.id]
    with pytest.raises(DomainError):
        referencing_registry.registry(akto, status="n'importe quoi")


def test_registry_costs_a_constant_number_of_queries(make, akto):
    def count_queries(n_rows: int) -> int:
        action = make.action(akto)
        for _ in range(n_rows):
            make.referencing(action)
        db.session.expire_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = referencing_registry.registry(akto, action_id=action.id)
            seen = [(r.provider.name, r.action.title, r.provider.qualiopi_expires_on) for r in rows]
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(seen) == n_rows
        return len(statements)

    assert count_queries(1) == count_queries(6)


def test_qualiopi_expiry_suspends_every_active_referencing(make, akto, expired, outbox):
    atlas = make.opco("atlas")
    active_akto = make.referencing(make.action(akto), expired)
    active_atlas = make.referencing(make.action(atlas), expired)
    withdrawn = make.referencing(make.action(akto), expired, status="withdrawn")
    valid = make.referencing(make.action(akto))  # another organisation, valid certificate

    assert referencing_registry.suspend_if_qualiopi_expired(expired, TODAY) == 2
    db.session.commit()
    reason = f"Certificat Qualiopi expiré le {(TODAY - timedelta(days=3)):%d/%m/%Y}"
    for referencing in (active_akto, active_atlas):
        assert (fresh(referencing).status, fresh(referencing).status_reason) == ("suspended", reason)
    assert fresh(withdrawn).status == "withdrawn"
    assert fresh(valid).status == "active"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "referencing.suspend")).all()
    assert {e.organisation_id for e in events} == {akto.id, atlas.id}
    assert all(e.data["reason"] == reason for e in events)
    [mail] = outbox(expired.memberships[0].user.email)
    assert mail.template == "referencing_suspended_qualiopi"
    assert reason in mail.body_text and "AKTO" in mail.body_text.upper()

    # Running it again changes nothing and sends nothing.
    assert referencing_registry.suspend_if_qualiopi_expired(expired, TODAY) == 0
    db.session.commit()
    assert len(outbox(expired.memberships[0].user.email)) == 1


def test_a_certificate_valid_today_suspends_nothing(make, akto):
    provider = make.provider(qualiopi_expires_on=TODAY)  # last valid day
    referencing = make.referencing(make.action(akto), provider)
    assert referencing_registry.suspend_if_qualiopi_expired(provider, TODAY) == 0
    assert fresh(referencing).status == "active"


def test_the_daily_command_suspends_expired_organisations(app, make, akto, expired, cli):
    lapsed = make.referencing(make.action(akto), expired)
    fine = make.referencing(make.action(akto))
    result = cli("suspend-expired-referencings")
    assert result.exit_code == 0, result.output
    assert "1 référencement suspendu" in result.output
    assert fresh(lapsed).status == "suspended" and fresh(fine).status == "active"

    # On a chosen day: the other organisation's certificate has expired by then.
    later = fine.provider.qualiopi_expires_on + timedelta(days=1)
    result = cli("suspend-expired-referencings", "--date", later.isoformat())
    assert "1 référencement suspendu" in result.output
    assert fresh(fine).status == "suspended"
    result = cli("suspend-expired-referencings", "--date", "31/12/2026")
    assert result.exit_code == 1


def test_creating_a_session_suspends_and_still_refuses(make, akto, expired, outbox):
    action = make.action(akto)
    referencing = make.referencing(action, expired)
    actor = expired.memberships[0].user
    with pytest.raises(DomainError) as info:
        sessions.create_session(expired, session_input(referencing), actor, TODAY)
    db.session.rollback()  # as the view does
    assert "Votre certificat Qualiopi a expiré le" in info.value.message
    # The suspension was kept although the request was rolled back.
    assert fresh(referencing).status == "suspended"
    assert "Certificat Qualiopi expiré" in fresh(referencing).status_reason
    assert db.session.scalar(select(TrainingSession.id)) is None
    assert [m.template for m in outbox(actor.email)] == ["referencing_suspended_qualiopi"]


def test_a_suspended_organisation_cannot_open_a_session(make, akto):
    provider = make.provider()
    referencing = make.referencing(
        make.action(akto, title="Gestes et postures", duration_hours="7"), provider
    )
    referencing_registry.change_referencing(referencing, "suspend", None, reason="Plaintes répétées")
    db.session.commit()
    with pytest.raises(DomainError) as info:
        sessions.create_session(provider, session_input(referencing), provider.memberships[0].user, TODAY)
    db.session.rollback()
    assert info.value.message == (
        "Votre référencement sur « Gestes et postures » est suspendu (Plaintes répétées) : "
        "vous ne pouvez pas ouvrir de session pour cette action."
    )
    # Reactivated, it opens sessions again.
    referencing_registry.change_referencing(fresh(referencing), "reactivate", None)
    db.session.commit()
    session = sessions.create_session(
        provider, session_input(referencing), provider.memberships[0].user, TODAY
    )
    db.session.commit()
    assert session.id is not None


def test_changing_a_referencing_tells_the_organisation(make, akto, outbox):
    provider = make.provider()
    referencing = make.referencing(make.action(akto, title="Bureautique"), provider)
    with pytest.raises(DomainError):
        referencing_registry.change_referencing(referencing, "withdraw", None, reason="")
    db.session.rollback()
    referencing_registry.change_referencing(fresh(referencing), "withdraw", None, reason="Fin du marché")
    db.session.commit()
    [mail] = outbox(provider.memberships[0].user.email)
    assert mail.template == "referencing_withdrawn"
    assert "Bureautique" in mail.subject and "Fin du marché" in mail.body_text
