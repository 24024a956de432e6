"""Emails leave through the outbox, after the commit, to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Membership, OutboxMessage, OutboxStatus, User
from marketplace.services import accounts
from marketplace.services import outbox as outbox_service
from tests.conftest import free_port
from tests.web.pages import text, token_from, visible_text

NEW_PASSWORD = "un-nouveau-mot-de-passe-2026"


@pytest.fixture
def smtp_app(app_factory, smtp_server):
    return app_factory(MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False)


def _queue_reset(user, token: str = "jeton-de-test"):
    return outbox_service.queue_email(user.email, "password_reset", user=user, token=token, minutes=60)


def test_committed_email_is_sent_by_smtp(smtp_app, smtp_server, make, outbox):
    user = make.user(email="alice@exemple.fr", full_name="Alice Martin")
    with smtp_app.app_context():
        _queue_reset(db.session.merge(user))
        assert smtp_server.messages == []  # nothing leaves before the commit
        db.session.commit()

    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0]
    assert sent["To"] == "alice@exemple.fr"
    assert sent["Subject"] == "Réinitialisation de votre mot de passe"
    body = sent.get_content()
    assert "Bonjour Alice Martin" in body
    assert "http://localhost/" in body and "jeton-de-test" in body
    assert smtp_server.envelopes[0].rcpt_tos == ["alice@exemple.fr"]

    [row] = outbox("alice@exemple.fr")
    assert row.status == OutboxStatus.SENT
    assert row.sent_at is not None and row.attempts == 1
    assert row.subject == sent["Subject"]


def test_rolled_back_email_is_neither_kept_nor_sent(smtp_app, smtp_server, make, outbox):
    user = make.user(email="bob@exemple.fr")
    with smtp_app.app_context():
        _queue_reset(db.session.merge(user))
        db.session.flush()  # even once written, a rollback takes it away
        db.session.rollback()
        db.session.commit()
    assert smtp_server.messages == []
    assert outbox("bob@exemple.fr") == []


def test_without_smtp_the_message_is_held_in_the_outbox(app, make, outbox, db_session):
    assert not app.config["MAIL_SERVER"]
    user = make.user(email="carole@exemple.fr")
    _queue_reset(user)
    db_session.commit()
    [row] = outbox("carole@exemple.fr")
    assert row.status == OutboxStatus.HELD
    assert row.sent_at is None
    assert "Réinitialisation" in row.subject


def test_smtp_failure_is_recorded_and_retried(app_factory, smtp_app, smtp_server, make, outbox):
    user = make.user(email="denis@exemple.fr")
    closed = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    with closed.app_context():
        _queue_reset(db.session.merge(user))
        db.session.commit()
    [row] = outbox("denis@exemple.fr")
    assert row.status == OutboxStatus.FAILED
    assert row.last_error
    assert smtp_server.messages == []

    with smtp_app.app_context():
        assert outbox_service.retry_failed() == 1
    [row] = outbox("denis@exemple.fr")
    assert row.status == OutboxStatus.SENT and row.attempts == 2
    assert len(smtp_server.messages) == 1


def test_a_message_refused_too_often_is_no_longer_retried(app_factory, make, outbox):
    """Retries stop after ``MAX_ATTEMPTS``: the message stays « Échec » with its error for the operator."""
    user = make.user(email="fanny@exemple.fr")
    closed = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    with closed.app_context():
        _queue_reset(db.session.merge(user))
        db.session.commit()
        for _ in range(outbox_service.MAX_ATTEMPTS - 1):
            assert outbox_service.retry_failed() == 1
            outbox_service.deliver_pending()
        [row] = outbox("fanny@exemple.fr")
        assert row.status == OutboxStatus.FAILED and row.attempts == outbox_service.MAX_ATTEMPTS
        assert outbox_service.retry_failed() == 0
    [row] = outbox("fanny@exemple.fr")
    assert row.status == OutboxStatus.FAILED and row.last_error


def test_with_redis_delivery_goes_through_an_rq_worker(app_factory, smtp_server, redis_url, make, outbox):
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(redis_url)
    queue = Queue("marketplace", connection=connection)
    queue.empty()
    rq_app = app_factory(
        MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False, REDIS_URL=redis_url
    )
    user = make.user(email="eve@exemple.fr")
    try:
        with rq_app.app_context():
            _queue_reset(db.session.merge(user))
            db.session.commit()

        # Committed and enqueued, not sent inline.
        [row] = outbox("eve@exemple.fr")
        assert row.status == OutboxStatus.PENDING
        assert smtp_server.messages == []
        assert queue.count == 1

        with rq_app.app_context():
            worker = SimpleWorker([queue], connection=connection)
            assert worker.work(burst=True)

        [row] = outbox("eve@exemple.fr")
        assert row.status == OutboxStatus.SENT
        assert [m["To"] for m in smtp_server.messages] == ["eve@exemple.fr"]
        assert queue.count == 0
    finally:
        queue.empty()


def test_outbox_retry_command(app, cli, make, outbox, db_session):
    user = make.user(email="fanny@exemple.fr")
    db_session.add(
        OutboxMessage(
            recipient=user.email,
            subject="Essai",
            body_text="Bonjour\n",
            template="password_reset",
            status=OutboxStatus.FAILED,
            attempts=1,
        )
    )
    db_session.commit()
    result = cli("outbox-retry")
    assert result.exit_code == 0, result.output
    assert "1 e-mail remis" in result.output
    # No SMTP in the default test app: the message is kept, marked held.
    [row] = outbox("fanny@exemple.fr")
    assert row.status == OutboxStatus.HELD
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_savepoint_rollback_keeps_the_outer_transaction_email(smtp_app, smtp_server, make, outbox):
    """A nested step that fails (savepoint rolled back) must not swallow the email of the outer change."""
    user = make.user(email="elise@exemple.fr")
    with smtp_app.app_context():
        merged = db.session.merge(user)
        _queue_reset(merged, token="jeton-exterieur")
        db.session.flush()
        savepoint = db.session.begin_nested()
        _queue_reset(merged, token="jeton-interieur")
        db.session.flush()
        savepoint.rollback()
        db.session.commit()
    assert len(smtp_server.messages) == 1
    assert "jeton-exterieur" in smtp_server.messages[0].get_content()
    assert [row.status for row in outbox("elise@exemple.fr")] == [OutboxStatus.SENT]


def test_a_message_is_delivered_once_even_if_handed_over_twice(smtp_app, smtp_server, make, outbox):
    """Delivery claims the row first: a second hand-over (retry racing the queue) sends nothing more."""
    user = make.user(email="fanny@exemple.fr")
    with smtp_app.app_context():
        message = _queue_reset(db.session.merge(user))
        db.session.commit()
        assert outbox_service.deliver(message.id) == "skipped"
        assert outbox_service.retry_failed() == 0  # a sent message is never handed over again
    assert len(smtp_server.messages) == 1


def test_a_queue_outage_after_commit_keeps_the_change_and_the_message(app_factory, make, outbox, db_session):
    """Redis down: the committed change stands, the email stays pending for `flask outbox-retry`."""
    user = make.user(email="gaston@exemple.fr")
    down = app_factory(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with down.app_context():
        _queue_reset(db.session.merge(user))
        db.session.commit()  # must not raise
    [row] = outbox("gaston@exemple.fr")
    assert row.status == OutboxStatus.PENDING


def test_a_released_savepoint_does_not_deliver_before_the_real_commit(smtp_app, smtp_server, make, outbox):
    """SQLAlchemy calls after_commit when a SAVEPOINT is released: the email must wait for the real commit."""
    user = make.user(email="helene@exemple.fr")
    with smtp_app.app_context():
        merged = db.session.merge(user)
        with db.session.begin_nested():
            _queue_reset(merged, token="jeton-savepoint")
        assert smtp_server.messages == []  # the outer transaction is still open
        db.session.commit()
    assert len(smtp_server.messages) == 1
    assert [row.status for row in outbox("helene@exemple.fr")] == [OutboxStatus.SENT]


# --- Secrets at rest ----------------------------------------------------------------------------------------


def test_a_sent_invitation_keeps_no_usable_link_in_the_database(smtp_app, smtp_server, make, outbox, login):
    """The recipient's mail has the working link; the stored copy has it masked, and the masked one opens nothing."""
    admin = make.user(email="alice@lumiere.fr", full_name="Alice Admin")
    company = make.company(admin=admin, name="Lumière Services", opco_code="akto")
    browser = smtp_app.test_client()
    login(browser, admin)
    assert (
        browser.post(
            f"/org/{company.slug}/membres/inviter", data={"email": "nadia@lumiere.fr", "role": "hr"}
        ).status_code
        == 303
    )

    [mail] = smtp_server.messages
    live = token_from(mail.get_content(), "invitation")
    [row] = outbox("nadia@lumiere.fr")
    assert row.status == OutboxStatus.SENT
    stored = token_from(row.body_text, "invitation")
    assert stored != live and live not in row.body_text
    assert "Alice Admin vous invite à rejoindre Lumière Services" in row.body_text  # the rest is kept

    guest = smtp_app.test_client()
    dead = guest.get(f"/invitation/{stored}")
    assert dead.status_code == 410
    assert "Ce lien d'invitation n'est pas valide." in visible_text(dead)
    assert guest.get(f"/invitation/{live}").status_code == 200
    guest.post(
        f"/invitation/{live}",
        data={"full_name": "Nadia Benali", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 2


def test_a_sent_password_reset_keeps_no_usable_link_in_the_database(smtp_app, smtp_server, make, outbox):
    user = make.user(email="bruno@exemple.fr", full_name="Bruno Martin")
    with smtp_app.app_context():
        accounts.request_password_reset("bruno@exemple.fr")
        db.session.commit()

    live = token_from(smtp_server.messages[0].get_content(), "reinitialiser")
    [row] = outbox("bruno@exemple.fr")
    assert row.status == OutboxStatus.SENT and live not in row.body_text
    stored = token_from(row.body_text, "reinitialiser")

    guest = smtp_app.test_client()
    guest.post(f"/reinitialiser/{stored}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not db.session.get(User, user.id, populate_existing=True).check_password(NEW_PASSWORD)
    guest.post(f"/reinitialiser/{live}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert db.session.get(User, user.id, populate_existing=True).check_password(NEW_PASSWORD)


def test_a_failed_delivery_keeps_its_link_for_the_retry(app_factory, smtp_app, smtp_server, make, outbox):
    """Until it is delivered the message must still carry the link: the retry sends a working one."""
    user = make.user(email="denis@exemple.fr")
    closed = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    with closed.app_context():
        _queue_reset(db.session.merge(user), token="jeton-a-livrer")
        db.session.commit()
    [row] = outbox("denis@exemple.fr")
    assert row.status == OutboxStatus.FAILED and "jeton-a-livrer" in row.body_text

    with smtp_app.app_context():
        assert outbox_service.retry_failed() == 1
    assert "/reinitialiser/jeton-a-livrer" in smtp_server.messages[0].get_content()
    [row] = outbox("denis@exemple.fr")
    assert row.status == OutboxStatus.SENT and "jeton-a-livrer" not in row.body_text


def test_with_smtp_the_operator_outbox_never_shows_a_live_link(
    app_factory, smtp_app, smtp_server, make, outbox, login
):
    user = make.user(email="eve@exemple.fr")
    operator = make.operator(email="operateur@plateforme.fr")
    closed = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    with closed.app_context():
        _queue_reset(
            db.session.merge(user), token="jeton-en-attente"
        )  # delivery fails: still live in the row
        db.session.commit()
    with smtp_app.app_context():
        _queue_reset(db.session.merge(user), token="jeton-envoye")
        db.session.commit()
    waiting, sent = outbox("eve@exemple.fr")
    assert waiting.status == OutboxStatus.FAILED and sent.status == OutboxStatus.SENT

    browser = closed.test_client()
    login(browser, operator)
    for row in (waiting, sent):
        page = browser.get(f"/operateur/courriels/{row.id}")
        assert page.status_code == 200
        shown = text(page)
        assert "Réinitialisation de votre mot de passe" in shown
        assert "jeton-en-attente" not in shown and "jeton-envoye" not in shown
        assert f"/reinitialiser/{outbox_service.MASKED_TOKEN}" in shown
        assert "Les liens à usage unique (invitation, réinitialisation du mot de passe) sont masqués" in shown


def test_without_smtp_the_operator_outbox_shows_the_working_link(app, client, make, outbox, login):
    """The development outbox is how people follow their links when no SMTP server is configured."""
    operator = make.operator(email="operateur@plateforme.fr")
    atlas = make.opco("atlas")
    login(client, operator)
    client.post(f"/operateur/opco/{atlas.id}/inviter", data={"email": "directrice@atlas.fr"})
    [row] = outbox("directrice@atlas.fr")
    assert row.status == OutboxStatus.HELD
    shown = text(client.get(f"/operateur/courriels/{row.id}"))
    token = token_from(shown, "invitation")
    assert app.test_client().get(f"/invitation/{token}").status_code == 200
