"""The flask commands: reference data, demo data (idempotent), OPCO and operator creation."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.models import (
    AuditEvent,
    Company,
    IdccBranch,
    Invitation,
    Membership,
    Opco,
    OpcoReference,
    Organisation,
    Region,
    Theme,
    TrainingProvider,
    User,
)
from marketplace.services.demo import DEMO_PASSWORD
from marketplace.services.identifiers import size_band, validate_siret


def _count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def _membership(db_session, email: str) -> list[Membership]:
    return list(db_session.scalars(select(Membership).join(User).where(User.email == email)))


def test_load_reference_is_idempotent_and_counts_the_files(cli, db_session):
    for _ in range(2):
        result = cli("load-reference")
        assert result.exit_code == 0, result.output
        assert "11 OPCO" in result.output and "18 régions" in result.output
    assert _count(db_session, OpcoReference) == 11
    assert _count(db_session, Region) == 18
    assert _count(db_session, IdccBranch) >= 20
    assert _count(db_session, Theme) > 0
    assert db_session.get(Region, "11").name == "Île-de-France"
    assert db_session.get(IdccBranch, "1486").opco_code == "atlas"


def test_seed_demo_creates_the_demo_logins_once(cli, db_session):
    first = cli("seed-demo")
    assert first.exit_code == 0, first.output
    for email in (
        "operateur@demo.test",
        "opco@demo.test",
        "entreprise@demo.test",
        "entreprise2@demo.test",
        "of@demo.test",
    ):
        assert email in first.output
    counts = {m: _count(db_session, m) for m in (User, Organisation, Membership, Invitation, AuditEvent)}

    second = cli("seed-demo")
    assert second.exit_code == 0, second.output
    assert "déjà présentes" in second.output
    assert {m: _count(db_session, m) for m in counts} == counts

    assert db_session.scalar(select(func.count()).select_from(Opco)) == 3
    assert db_session.scalar(select(func.count()).select_from(TrainingProvider)) == 4
    assert db_session.scalar(select(func.count()).select_from(Company)) == 6
    assert counts[Invitation] >= 1


def test_seed_demo_logins_have_the_right_access(cli, db_session):
    assert cli("seed-demo").exit_code == 0

    operator = db_session.scalar(select(User).where(User.email == "operateur@demo.test"))
    assert operator.is_operator and operator.memberships == []
    assert operator.check_password(DEMO_PASSWORD)

    def only_membership(email: str) -> Membership:
        memberships = _membership(db_session, email)
        assert len(memberships) == 1, email
        user = memberships[0].user
        assert not user.is_operator and user.check_password(DEMO_PASSWORD)
        return memberships[0]

    akto = only_membership("opco@demo.test")
    assert (akto.organisation.kind, akto.organisation.code, akto.role) == ("opco", "akto", "admin")
    catalogue = [m for m in akto.organisation.memberships if m.role == "catalogue_manager"]
    assert len(catalogue) == 1

    for email, code in (("opco-atlas@demo.test", "atlas"), ("opco-ep@demo.test", "opcoep")):
        m = only_membership(email)
        assert (m.organisation.code, m.role) == (code, "admin")

    companies = []
    for email in ("entreprise@demo.test", "entreprise2@demo.test"):
        m = only_membership(email)
        assert m.role == "admin" and m.organisation.kind == "company"
        assert m.organisation.opco is not None and m.organisation.opco.code == "akto"
        companies.append(m.organisation)
    assert companies[0].id != companies[1].id

    of = only_membership("of@demo.test")
    assert (of.organisation.kind, of.role) == ("provider", "admin")


def test_seed_demo_data_is_varied_and_valid(cli, db_session):
    assert cli("seed-demo").exit_code == 0
    companies = list(db_session.scalars(select(Company)))
    assert len({c.idcc for c in companies}) == 6
    assert len({size_band(c.headcount) for c in companies}) >= 4
    assert len({c.region_code for c in companies}) >= 4
    assert {c.opco.code for c in companies} == {"akto", "atlas", "opcoep"}
    providers = list(db_session.scalars(select(TrainingProvider)))
    assert {p.vat_regime for p in providers} == {"exonere", "franchise", "assujetti"}
    assert len({p.region_code for p in providers}) == 4
    for org in [*companies, *providers]:
        assert validate_siret(org.siret) == org.siret
    # Sign-ups and OPCO creations are in the audit trail.
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert {"opco.created", "org.created", "member.invited"} <= actions


def test_create_opco_with_its_reference_branches(cli, db_session):
    result = cli("create-opco", "atlas")
    assert result.exit_code == 0, result.output
    assert "OPCO créé : ATLAS" in result.output
    opco = db_session.scalar(select(Opco).where(Opco.code == "atlas"))
    reference = set(db_session.scalars(select(IdccBranch.idcc).where(IdccBranch.opco_code == "atlas")))
    assert set(opco.idcc_codes) == reference


def test_create_opco_with_chosen_branches(cli, db_session):
    result = cli("create-opco", "ATLAS", "--idcc", "1486", "--idcc", "2120")
    assert result.exit_code == 0, result.output
    opco = db_session.scalar(select(Opco).where(Opco.code == "atlas"))
    assert opco.idcc_codes == ["1486", "2120"]


def test_create_opco_refuses_an_unknown_code_in_french(cli, db_session):
    result = cli("create-opco", "inconnu")
    assert result.exit_code == 1
    assert "ne fait pas partie de la liste de référence" in result.output
    assert _count(db_session, Opco) == 0


def test_create_opco_refuses_a_duplicate(cli, db_session):
    assert cli("create-opco", "akto").exit_code == 0
    result = cli("create-opco", "akto")
    assert result.exit_code == 1
    assert "déjà présent" in result.output
    assert _count(db_session, Opco) == 1


def test_create_operator_prompts_for_the_password(cli, db_session):
    password = "un-mot-de-passe-solide"
    result = cli("create-operator", "Chef@Exemple.fr", "Alice Dupont", input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    assert password not in result.output
    user = db_session.scalar(select(User).where(User.email == "chef@exemple.fr"))
    assert user.is_operator and user.memberships == []
    assert user.check_password(password)


def test_create_operator_refuses_a_weak_password(cli, db_session):
    result = cli("create-operator", "chef@exemple.fr", "Alice Dupont", input="court\ncourt\n")
    assert result.exit_code == 1
    assert "au moins 12 caractères" in result.output
    assert _count(db_session, User) == 0


def test_worker_without_redis_says_so(cli):
    result = cli("worker", "--burst")
    assert result.exit_code == 1
    assert "REDIS_URL" in result.output


def test_worker_command_delivers_queued_email(
    app_factory, database_url, redis_url, smtp_server, make, outbox
):
    """`flask worker --burst` in its own process (as deployed) sends what the app queued on Redis."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from redis import Redis
    from rq import Queue

    from marketplace.extensions import db
    from marketplace.services import outbox as outbox_service

    queue = Queue("marketplace", connection=Redis.from_url(redis_url))
    queue.empty()
    user = make.user(email="worker@exemple.fr")
    rq_app = app_factory(REDIS_URL=redis_url)
    with rq_app.app_context():
        outbox_service.queue_email(
            user.email, "password_reset", user=db.session.merge(user), token="t", minutes=60
        )
        db.session.commit()
    assert [m.status for m in outbox(user.email)] == ["pending"]

    env = {
        **os.environ,
        "FLASK_APP": "marketplace",
        "MARKETPLACE_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_STARTTLS": "0",
    }
    flask = Path(sys.executable).with_name("flask")
    try:
        done = subprocess.run(
            [str(flask), "worker", "--burst"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        queue.empty()
    assert [m.status for m in outbox(user.email)] == ["sent"]
    assert [m["To"] for m in smtp_server.messages] == [user.email]


def test_expire_offers_command_moves_the_waiting_list(cli, make, db_session):
    from datetime import timedelta

    from marketplace.models import Enrolment, utcnow
    from marketplace.services import enrolments

    session = make.session(capacity_max=1)
    company = make.company()
    hr = make.user()
    first = make.enrolment(session, company, actor=hr)
    second = make.enrolment(session, company, actor=hr)
    third = make.enrolment(session, company, actor=hr)
    enrolments.cancel(first, hr)
    db_session.commit()
    offer = db_session.get(Enrolment, second.id)
    offer.offer_expires_at = utcnow() - timedelta(minutes=1)  # the offer window has passed
    db_session.commit()

    result = cli("expire-offers")

    assert result.exit_code == 0, result.output
    assert "1 proposition de place expirée" in result.output
    assert db_session.get(Enrolment, second.id).status == "offer_expired"
    assert db_session.get(Enrolment, third.id).status == "offered"


def test_seed_demo_shows_a_living_marketplace(cli, db_session):
    """Each demo login finds something to do: sessions past and future, a full one, every enrolment state."""
    from sqlalchemy import select

    from marketplace.models import Enrolment, EnrolmentStatus, SessionStatus, TrainingSession

    result = cli("seed-demo")
    assert result.exit_code == 0, result.output
    assert "Place de marché : 8 actions collectives publiées" in result.output
    assert "3 appels d'offres" in result.output
    from marketplace.models import Tender, TenderResponse

    assert sorted(db_session.scalars(select(Tender.status))) == ["awarded", "published", "under_analysis"]
    assert {"submitted", "admissible", "retained", "not_retained"} <= set(
        db_session.scalars(select(TenderResponse.status))
    )
    states = set(db_session.scalars(select(Enrolment.status).distinct()))
    assert states == set(EnrolmentStatus.LABELS)
    session_states = set(db_session.scalars(select(TrainingSession.status).distinct()))
    assert {SessionStatus.OPEN, SessionStatus.COMPLETED, SessionStatus.CANCELLED} <= session_states
    from marketplace.models import utcnow
    from marketplace.services.enrolment_reads import seats_left

    open_sessions = db_session.scalars(
        select(TrainingSession).where(TrainingSession.status == SessionStatus.OPEN)
    )
    assert any(seats_left(s, utcnow()) == 0 for s in open_sessions)  # a full session, with its waiting list


def test_seed_demo_has_an_envelope_near_its_limit(cli, db_session):
    """Budget envelopes in the demo: one at 92 % committed, every figure traceable to the ledger."""
    from sqlalchemy import func, select

    from marketplace.models import BudgetEnvelope, BudgetMovement

    assert cli("seed-demo").exit_code == 0
    envelopes = db_session.scalars(select(BudgetEnvelope)).all()
    assert any(e.pct(e.committed_cents) == 92 for e in envelopes)
    assert any(e.realised_cents > 0 for e in envelopes)  # the delivered session's hours
    for envelope in envelopes:
        moved = dict(
            db_session.execute(
                select(BudgetMovement.kind, func.sum(BudgetMovement.cents))
                .where(BudgetMovement.envelope_id == envelope.id)
                .group_by(BudgetMovement.kind)
            ).all()
        )
        assert envelope.committed_cents == moved.get("committed", 0) - moved.get("released", 0)
        assert envelope.realised_cents == moved.get("realised", 0)


def test_seed_demo_shows_the_money_trail_to_payment(cli, db_session, app, login):
    """The demo's money trail as its users see it: the organisation's SST invoice « Payée » by a paid batch,
    its amount traceable to the hours done; the OPCO's other invoices in control, waiting for documents,
    rejected; the companies' invoices issued; bank details confirmed, the envelope moved to paid."""
    from sqlalchemy import select

    from marketplace.models import (
        BudgetEnvelope,
        Invoice,
        InvoiceLine,
        Opco,
        PaymentBatch,
        TrainingProvider,
        User,
    )
    from tests.web.pages import visible_text

    assert cli("seed-demo").exit_code == 0
    invoices = db_session.scalars(select(Invoice).order_by(Invoice.id)).all()
    by_state = {(i.payer, i.status) for i in invoices if i.kind == "invoice"}
    assert {
        ("opco", "paid"),
        ("opco", "in_control"),
        ("opco", "info_requested"),
        ("opco", "rejected"),
        ("company", "issued"),
    } <= by_state
    assert any(i.kind == "credit_note" for i in invoices)
    waiting = next(i for i in invoices if i.status == "info_requested")
    assert waiting.info_request and waiting.info_deadline is not None
    assert next(i for i in invoices if i.status == "rejected").rejection_reason

    batch = db_session.scalar(select(PaymentBatch))
    paid = next(i for i in invoices if i.status == "paid")
    assert (batch.status, batch.total_cents, paid.payment_batch_id) == (
        "paid",
        paid.total_ttc_cents,
        batch.id,
    )
    lines = db_session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == paid.id)).all()
    assert lines and all(line.minutes_done for line in lines)
    assert sum(line.amount_ht_cents for line in lines) == paid.total_ht_cents
    assert any(e.paid_cents == paid.total_ht_cents for e in db_session.scalars(select(BudgetEnvelope)))
    assert len(paid.buyer_siret) == 14 and paid.buyer_address.endswith("75019 Paris")  # the OPCO as buyer
    provider = db_session.get(TrainingProvider, paid.provider_id)
    assert provider.iban == "FR7630006000011234567890189" and provider.pending_iban is None

    of = app.test_client()
    login(of, db_session.scalar(select(User).where(User.email == "of@demo.test")), "demo-marketplace-2026")
    page = visible_text(of.get(f"/of/{provider.slug}/factures"))
    for label in ("Payée", "En contrôle", "Compléments demandés", "Rejetée", "Émise"):
        assert label in page, label
    opco = db_session.get(Opco, paid.opco_id)
    payer = app.test_client()
    login(
        payer, db_session.scalar(select(User).where(User.email == "opco@demo.test")), "demo-marketplace-2026"
    )
    page = visible_text(payer.get(f"/opco/{opco.slug}/paiements"))
    assert batch.reference in page
