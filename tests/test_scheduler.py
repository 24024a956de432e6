"""The periodic-job scheduler: one run at a time per job (a database lock), runs recorded, failures kept
apart, the operator's page and button, and emails delivered by the scheduler's job, never in the request."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Enrolment,
    LoginAttempt,
    LoginThrottle,
    OutboxMessage,
    OutboxStatus,
    ScheduledJob,
    utcnow,
)
from marketplace.services import enrolments, scheduler
from marketplace.services import outbox as outbox_service
from marketplace.services.scheduler import Outcome, PeriodicJob
from tests.web.pages import flashes, visible_text


def job_row(name: str) -> ScheduledJob | None:
    return db.session.scalar(
        select(ScheduledJob).where(ScheduledJob.name == name).execution_options(populate_existing=True)
    )


def in_parallel(app, name: str, times: int = 2) -> list[scheduler.RunResult]:
    """Run a job ``times`` times at once, each run in its own thread, app context and session."""
    barrier = threading.Barrier(times)
    results: list = [None] * times
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = scheduler.run_job(name, trigger="scheduler", app=app)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def test_job(monkeypatch):
    """``test_job(name, func, every=...)``: register a job for this test only."""

    def add(name: str, func, every=timedelta(minutes=1)) -> PeriodicJob:
        scheduler.registered()
        job = PeriodicJob(name, f"Tâche d'essai {name}", func, every=every)
        monkeypatch.setitem(scheduler._JOBS, name, job)
        return job

    return add


# --- The lock ------------------------------------------------------------------------------------------


def test_a_job_running_elsewhere_is_skipped_and_its_lock_released_after_the_run(app, test_job):
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow() -> Outcome:
        runs.append(1)
        started.set()
        assert release.wait(timeout=20)
        return Outcome(7, "Sept choses faites.")

    test_job("essai-lent", slow)
    first: list = []
    thread = threading.Thread(target=lambda: first.append(scheduler.run_job("essai-lent", app=app)))
    thread.start()
    try:
        assert started.wait(timeout=20)
        assert job_row("essai-lent").running_token is not None
        # A second scheduler (or `flask run-job`) meanwhile: nothing done, told why.
        second = scheduler.run_job("essai-lent", trigger="scheduler", app=app)
        assert second.ran is False
        assert "déjà en cours" in second.message
    finally:
        release.set()
        thread.join(timeout=20)
    assert first[0].ran and first[0].outcome.count == 7
    assert runs == [1]

    row = job_row("essai-lent")
    assert row.running_token is None and row.lease_until is None  # lock released
    assert row.last_status == "ok" and row.last_result == "Sept choses faites." and row.last_count == 7
    assert row.last_trigger == "command"
    assert row.last_started_at <= row.last_finished_at

    # Free again: the next run runs.
    assert scheduler.run_job("essai-lent", app=app).ran
    assert runs == [1, 1]


def test_a_lock_left_by_a_killed_process_is_taken_over_after_its_lease(app, test_job, db_session):
    runs: list[int] = []
    test_job("essai-bail", lambda: runs.append(1) or Outcome(1, "Fait."))
    db_session.add(
        ScheduledJob(
            name="essai-bail",
            running_token="processus-disparu",
            running_since=utcnow() - timedelta(hours=2),
            lease_until=utcnow() + timedelta(minutes=5),
        )
    )
    db_session.commit()
    assert scheduler.run_job("essai-bail", app=app).ran is False  # lease still running
    row = job_row("essai-bail")
    row.lease_until = utcnow() - timedelta(seconds=1)
    db_session.commit()
    assert scheduler.run_job("essai-bail", app=app).ran is True
    assert runs == [1] and job_row("essai-bail").running_token is None


def test_expiring_offers_twice_in_parallel_expires_each_offer_once(app, make, db_session, outbox):
    hr = make.user()
    company = make.company()
    offers = []
    for _ in range(3):
        session = make.session(capacity_max=1)
        first = make.enrolment(session, company, actor=hr)
        offers.append(make.enrolment(session, company, actor=hr))
        enrolments.cancel(first, hr)
        db_session.commit()
    offer_ids = [offer.id for offer in offers]
    for offer_id in offer_ids:
        row = db_session.get(Enrolment, offer_id)
        assert row.status == "offered"
        row.offer_expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    db_session.close()

    results = in_parallel(app, "expiration-propositions")

    assert sum(r.outcome.count for r in results if r.ran) == 3
    assert all(db_session.get(Enrolment, i).status == "offer_expired" for i in offer_ids)
    expired_events = db_session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "enrolment.expire_offer")
    )
    assert expired_events == 3
    assert len([m for m in outbox() if m.template == "enrolment_offer_expired"]) == 3
    assert job_row("expiration-propositions").running_token is None


# --- Failures ------------------------------------------------------------------------------------------


def test_a_failing_job_is_recorded_and_the_scheduler_keeps_running_the_others(app, test_job):
    failed: list[int] = []
    worked: list[int] = []

    def broken() -> Outcome:
        failed.append(1)
        raise RuntimeError("le serveur de fichiers ne répond pas")

    def fine() -> Outcome:
        worked.append(1)
        return Outcome(1, "Une chose faite.")

    jobs = [
        test_job("essai-en-panne", broken, every=timedelta(seconds=1)),
        test_job("essai-sain", fine, every=timedelta(seconds=1)),
    ]
    running = scheduler.build_scheduler(app, jobs=jobs, background=True)
    running.start()
    try:
        deadline = time.monotonic() + 20
        while (len(failed) < 2 or len(worked) < 2) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        running.shutdown(wait=True)
    assert len(failed) >= 2 and len(worked) >= 2  # the failure stopped neither itself nor the other job

    broken_row, fine_row = job_row("essai-en-panne"), job_row("essai-sain")
    assert broken_row.last_status == "failed"
    assert "RuntimeError" in broken_row.last_error
    assert "le serveur de fichiers ne répond pas" in broken_row.last_error
    assert broken_row.last_result is None and broken_row.running_token is None
    assert broken_row.last_trigger == "scheduler"
    assert fine_row.last_status == "ok" and fine_row.last_error is None


def test_the_scheduler_runs_every_job_at_start_when_never_run(app, db_session):
    """Interval jobs run when the scheduler starts; daily jobs too when their last run is over a day old."""
    names = {job.name for job in scheduler.registered()}
    running = scheduler.build_scheduler(app, background=True)
    running.start()
    try:
        deadline = time.monotonic() + 30
        done: set[str] = set()
        while done != names and time.monotonic() < deadline:
            time.sleep(0.2)
            db_session.rollback()
            done = set(db_session.scalars(select(ScheduledJob.name).where(ScheduledJob.last_status == "ok")))
    finally:
        running.shutdown(wait=True)
    assert done == names
    assert all(job_row(name).last_trigger == "scheduler" for name in names)


def test_a_failed_run_keeps_nothing_of_its_work(app, test_job, make, db_session):
    user = make.user(email="garde@exemple.fr", full_name="Avant")

    def half_done() -> Outcome:
        from marketplace.models import User

        db.session.get(User, user.id).full_name = "Après"
        db.session.flush()
        raise RuntimeError("panne au milieu")

    test_job("essai-moitie", half_done)
    result = scheduler.run_job("essai-moitie", app=app)
    assert result.status == "failed"
    db_session.expire_all()
    assert db_session.get(type(user), user.id).full_name == "Avant"


# --- Emails without Redis: delivered by the job, never inside the request -------------------------------


@pytest.fixture
def scheduled_smtp_app(app_factory, smtp_server):
    """The production setting: no Redis, emails left to the scheduler's « envoi-courriels » job."""
    return app_factory(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_USE_TLS=False,
        OUTBOX_DELIVERY="scheduler",
    )


def test_without_redis_the_request_only_stores_the_email_and_the_job_sends_it(
    scheduled_smtp_app, smtp_server, make, login, outbox
):
    operator = make.operator(email="operateur@plateforme.fr")
    atlas = make.opco("atlas")
    browser = scheduled_smtp_app.test_client()
    login(browser, operator)

    response = browser.post(f"/operateur/opco/{atlas.id}/inviter", data={"email": "directrice@atlas.fr"})

    assert response.status_code == 303
    [row] = outbox("directrice@atlas.fr")
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert smtp_server.messages == []  # nothing left during the request

    result = scheduler.run_job("envoi-courriels", trigger="scheduler", app=scheduled_smtp_app)

    assert result.outcome.text == "1 courriel envoyé, 0 en échec, 0 conservé sans SMTP."
    assert [m["To"] for m in smtp_server.messages] == ["directrice@atlas.fr"]
    assert "/invitation/" in smtp_server.messages[0].get_content()
    [row] = outbox("directrice@atlas.fr")
    assert row.status == OutboxStatus.SENT and row.attempts == 1


def test_two_delivery_jobs_at_once_send_each_email_once(scheduled_smtp_app, smtp_server, make, outbox):
    users = [make.user(email=f"personne{i}@exemple.fr") for i in range(5)]
    with scheduled_smtp_app.app_context():
        for user in users:
            outbox_service.queue_email(
                user.email, "password_reset", user=db.session.merge(user), token="jeton", minutes=60
            )
        db.session.commit()
    assert smtp_server.messages == []

    results = in_parallel(scheduled_smtp_app, "envoi-courriels")

    assert sum(r.outcome.count for r in results if r.ran) == 5
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(u.email for u in users)
    assert {m.status for m in outbox()} == {OutboxStatus.SENT}


def test_without_smtp_the_job_keeps_the_messages_held(app_factory, make, outbox, db_session):
    held_app = app_factory(OUTBOX_DELIVERY="scheduler")
    user = make.user(email="carole@exemple.fr")
    with held_app.app_context():
        outbox_service.queue_email(
            user.email, "password_reset", user=db.session.merge(user), token="t", minutes=60
        )
        db.session.commit()
    assert [m.status for m in outbox("carole@exemple.fr")] == [OutboxStatus.PENDING]
    result = scheduler.run_job("envoi-courriels", app=held_app)
    assert result.outcome.count == 1
    assert [m.status for m in outbox("carole@exemple.fr")] == [OutboxStatus.HELD]


# --- Purge of sign-in records ----------------------------------------------------------------------------


def test_the_purge_keeps_what_sign_in_throttling_still_needs(app, db_session):
    now = time.time()
    day = 86400
    db_session.add_all(
        [
            # Forgotten: wait over, last failure two days ago.
            LoginThrottle(key="a:ancien@exemple.fr", failures=3, retry_at=0.0, last_failure_at=now - 2 * day),
            # Recent failures: still counted.
            LoginThrottle(key="a:recent@exemple.fr", failures=3, retry_at=0.0, last_failure_at=now - 60),
            # A wait still running: kept whatever the age of the failure.
            LoginThrottle(
                key="a:bloque@exemple.fr", failures=9, retry_at=now + 600, last_failure_at=now - 2 * day
            ),
            LoginAttempt(email="vieux@exemple.fr", created_at=utcnow() - timedelta(days=200)),
            LoginAttempt(email="jeune@exemple.fr", created_at=utcnow() - timedelta(days=10)),
        ]
    )
    db_session.commit()

    result = scheduler.run_job("purge-connexions", app=app)

    assert result.outcome.count == 2
    assert result.message == "1 compteur de connexion oublié et 1 tentative ancienne supprimée."
    keys = set(db_session.scalars(select(LoginThrottle.key)))
    assert keys == {"a:recent@exemple.fr", "a:bloque@exemple.fr"}
    assert list(db_session.scalars(select(LoginAttempt.email))) == ["jeune@exemple.fr"]


def test_sign_in_still_counts_failures_after_a_purge(app, client, make, db_session):
    user = make.user(email="alice@exemple.fr")
    client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    throttle = db_session.get(LoginThrottle, "a:alice@exemple.fr")
    throttle.last_failure_at = time.time() - 3 * 86400
    db_session.commit()
    scheduler.run_job("purge-connexions", app=app)
    assert db_session.get(LoginThrottle, "a:alice@exemple.fr", populate_existing=True) is None
    client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    assert db_session.get(LoginThrottle, "a:alice@exemple.fr", populate_existing=True).failures == 1


# --- Commands ------------------------------------------------------------------------------------------


def test_run_job_command_runs_one_job_through_the_lock(cli):
    listing = cli("run-job")
    assert listing.exit_code == 0
    for name in ("envoi-courriels", "expiration-propositions", "cloture-appels-offres", "purge-connexions"):
        assert name in listing.output

    result = cli("run-job", "cloture-appels-offres")
    assert result.exit_code == 0, result.output
    assert "0 appel d'offres clos." in result.output
    row = job_row("cloture-appels-offres")
    assert row.last_status == "ok" and row.last_trigger == "command" and row.running_token is None

    unknown = cli("run-job", "inconnue")
    assert unknown.exit_code == 1
    assert "Cette tâche planifiée n'existe pas" in unknown.stderr


def test_the_old_commands_record_their_run_too(cli):
    assert cli("expire-offers").exit_code == 0
    assert job_row("expiration-propositions").last_status == "ok"


def test_a_failing_job_run_by_hand_exits_with_an_error(cli, test_job):
    test_job("essai-casse", lambda: 1 / 0)
    result = cli("run-job", "essai-casse")
    assert result.exit_code == 1
    assert "a échoué : ZeroDivisionError" in result.stderr


# --- The operator's page ---------------------------------------------------------------------------------


@pytest.fixture
def operator_client(client, make, login):
    login(client, make.operator(email="operateur@plateforme.fr"))
    return client


def test_the_operator_sees_every_job_and_its_last_run(operator_client, app, db_session):
    page = visible_text(operator_client.get("/operateur/taches"))
    assert "Tâches planifiées" in page
    for job in scheduler.registered():
        assert job.label in page
    assert "Envoi des courriels en attente" in page and "Toutes les 10 secondes" in page
    assert "Chaque jour à 03h30" in page
    assert "Jamais exécutée" in page and "Au démarrage du planificateur" in page
    assert "Tâches planifiées" in visible_text(operator_client.get("/operateur/"))  # in the operator's menu

    scheduler.run_job("purge-connexions", trigger="scheduler", app=app)
    row = job_row("purge-connexions")
    row.last_started_at = row.last_finished_at = utcnow() - timedelta(days=3)
    db_session.commit()
    page = visible_text(operator_client.get("/operateur/taches"))
    assert "Réussie" in page and "par planificateur" in page
    assert "0 compteur de connexion oublié" in page
    assert "En retard : le planificateur est-il lancé ?" in page


def test_run_now_runs_the_job_through_the_lock_and_shows_its_result(operator_client, make, db_session):
    response = operator_client.post("/operateur/taches/lancer", data={"job": "cloture-appels-offres"})

    assert response.status_code == 303 and response.headers["Location"] == "/operateur/taches"
    page = operator_client.get("/operateur/taches")
    assert "« Clôture des appels d'offres échus » exécutée : 0 appel d'offres clos." in flashes(page)
    assert "par opérateur" in visible_text(page)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "scheduler.job_run"))
    assert event.data == {"job": "cloture-appels-offres"}


def test_run_now_refuses_a_busy_job_a_failing_one_and_an_unknown_one(operator_client, test_job, db_session):
    test_job("essai-panne", lambda: 1 / 0)
    response = operator_client.post("/operateur/taches/lancer", data={"job": "essai-panne"})
    assert response.status_code == 303
    page = operator_client.get("/operateur/taches")
    assert any("a échoué : ZeroDivisionError" in f for f in flashes(page))
    assert "Échec" in visible_text(page) and "Erreur : ZeroDivisionError" in visible_text(page)

    db_session.add(
        ScheduledJob(name="purge-connexions", running_token="x", lease_until=utcnow() + timedelta(minutes=5))
    )
    db_session.commit()
    operator_client.post("/operateur/taches/lancer", data={"job": "purge-connexions"})
    page = operator_client.get("/operateur/taches")
    assert any("déjà en cours" in f for f in flashes(page))
    assert job_row("purge-connexions").last_started_at is None

    operator_client.post("/operateur/taches/lancer", data={"job": "inconnue"})
    assert any("n'existe pas" in f for f in flashes(operator_client.get("/operateur/taches")))
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_run_now_is_refused_to_anyone_but_the_operator(client, make, login, db_session):
    admin = make.user()
    make.company(admin=admin)
    login(client, admin)
    response = client.post("/operateur/taches/lancer", data={"job": "purge-connexions"})
    assert response.status_code == 403
    assert client.get("/operateur/taches").status_code == 403
    assert db_session.scalar(select(func.count()).select_from(ScheduledJob)) == 0


def test_outbox_rows_are_created_in_the_transaction(scheduled_smtp_app, make, outbox):
    """A rolled-back change leaves no message for the job to send."""
    user = make.user(email="bob@exemple.fr")
    with scheduled_smtp_app.app_context():
        outbox_service.queue_email(
            user.email, "password_reset", user=db.session.merge(user), token="t", minutes=60
        )
        db.session.rollback()
    assert outbox("bob@exemple.fr") == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_with_redis_the_job_leaves_fresh_emails_to_the_workers(
    app_factory, smtp_server, redis_url, make, outbox, db_session
):
    from redis import Redis
    from rq import Queue

    queue = Queue("marketplace", connection=Redis.from_url(redis_url))
    queue.empty()
    rq_app = app_factory(
        MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False, REDIS_URL=redis_url
    )
    user = make.user(email="eve@exemple.fr")
    try:
        with rq_app.app_context():
            outbox_service.queue_email(
                user.email, "password_reset", user=db.session.merge(user), token="t", minutes=60
            )
            db.session.commit()
        assert queue.count == 1
        assert scheduler.run_job("envoi-courriels", app=rq_app).outcome.count == 0  # the worker's
        [row] = outbox("eve@exemple.fr")
        row.created_at = utcnow() - timedelta(minutes=2)  # left behind (queue lost)
        db_session.commit()
        assert scheduler.run_job("envoi-courriels", app=rq_app).outcome.count == 1
        assert [m["To"] for m in smtp_server.messages] == ["eve@exemple.fr"]
    finally:
        queue.empty()
