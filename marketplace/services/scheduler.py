"""Periodic jobs of the platform: a registry, one database lock per run, the last run kept in the database.

Declaring a job takes one decorator (the platform's jobs are in ``services/periodic_jobs.py``)::

    @periodic("purge-connexions", label="Purge des anciennes tentatives de connexion", daily_at="03:30")
    def purge_login_records() -> Outcome:
        count = ...
        return Outcome(count, f"{count} ligne(s) supprimée(s).")

A job returns an ``Outcome`` (a count and a French sentence) or raises; it must be idempotent (run twice, it
does the work once) since a run can be retried after a crash. Every run goes through ``run_job``: from
`flask scheduler` (APScheduler's BlockingScheduler, one process), `flask run-job NAME`, the old one-job
commands (`flask expire-offers`…) and the operator's « Lancer maintenant » button.

``run_job`` claims the job's ``scheduled_jobs`` row with one atomic UPDATE (free, or its lease over), commits,
runs the job in its own app context (own session), then records start, end, result, count or error and frees
the row. A claim rather than a row lock held by the transaction, because jobs commit as they go (expiring
offers commits once per session, to keep seat locks short) and a transaction's lock would go with the first
commit. Two schedulers started by mistake therefore do each run once: the second finds the row claimed and
skips. A process killed mid-run leaves the claim until ``lease_until``; the next run after it takes over.
"""

from __future__ import annotations

import logging
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.extensions import db
from marketplace.formatting import PARIS, to_paris
from marketplace.models import JobStatus, ScheduledJob, utcnow
from marketplace.services import audit
from marketplace.services.errors import DomainError

log = logging.getLogger(__name__)

# Who started a run, kept with the last run (shown to the operator).
TRIGGER_LABELS = {
    "scheduler": "planificateur",
    "command": "commande",
    "operator": "opérateur",
}


@dataclass(frozen=True)
class Outcome:
    """What a run did: a count (rows handled) and a French sentence for the operator."""

    count: int
    text: str


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    label: str
    func: Callable[[], Outcome]
    every: timedelta | None = None
    daily_at: time | None = None  # Europe/Paris wall-clock time
    lease: timedelta = timedelta(minutes=30)  # longer than any normal run

    @property
    def period_text(self) -> str:
        if self.daily_at is not None:
            return f"chaque jour à {self.daily_at:%H}h{self.daily_at:%M}"
        seconds = int(self.every.total_seconds())
        for unit, size in (("heure", 3600), ("minute", 60)):
            if seconds % size == 0 and seconds >= size:
                n = seconds // size
                return f"toutes les {n} {unit}s" if n > 1 else f"chaque {unit}"
        return f"toutes les {seconds} secondes" if seconds > 1 else "chaque seconde"

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        if self.daily_at is not None:
            return CronTrigger(hour=self.daily_at.hour, minute=self.daily_at.minute, timezone=PARIS)
        return IntervalTrigger(seconds=self.every.total_seconds(), timezone=PARIS)

    def next_run(self, last_started: datetime | None, now: datetime) -> datetime | None:
        """Naive UTC time of the next run the scheduler should make; None: at the scheduler's start."""
        if self.every is not None:
            return None if last_started is None else last_started + self.every
        after = to_paris(last_started or now)
        candidate = datetime.combine(after.date(), self.daily_at, tzinfo=PARIS)
        if candidate <= after:
            candidate = datetime.combine(after.date() + timedelta(days=1), self.daily_at, tzinfo=PARIS)
        return candidate.astimezone(UTC).replace(tzinfo=None)


_JOBS: dict[str, PeriodicJob] = {}


def periodic(
    name: str,
    *,
    label: str,
    every: timedelta | None = None,
    daily_at: str | None = None,
    lease: timedelta = timedelta(minutes=30),
):
    """Register a job run ``every`` interval or each day at ``daily_at`` ("HH:MM", Paris time)."""
    if (every is None) == (daily_at is None):
        raise ValueError("periodic() needs exactly one of every= or daily_at=")
    at = time.fromisoformat(daily_at) if daily_at else None

    def decorator(func: Callable[[], Outcome]) -> Callable[[], Outcome]:
        _JOBS[name] = PeriodicJob(name, label, func, every=every, daily_at=at, lease=lease)
        return func

    return decorator


def registered() -> list[PeriodicJob]:
    """Every job, in declaration order (importing the module of the platform's jobs registers them)."""
    from marketplace.services import periodic_jobs  # noqa: F401

    return list(_JOBS.values())


def get(name: str | None) -> PeriodicJob:
    registered()
    job = _JOBS.get(name or "")
    if job is None:
        raise DomainError("Cette tâche planifiée n'existe pas : choisissez-en une de la liste.", field="job")
    return job


@dataclass(frozen=True)
class RunResult:
    job: PeriodicJob
    ran: bool  # False: another run held the job's lock, nothing was done
    status: str | None = None
    outcome: Outcome | None = None
    error: str | None = None

    @property
    def message(self) -> str:
        if not self.ran:
            return f"La tâche « {self.job.label} » est déjà en cours : rien n'a été fait cette fois."
        if self.status == JobStatus.FAILED:
            return f"La tâche « {self.job.label} » a échoué : {self.error}"
        return self.outcome.text


def run_job(name: str, *, trigger: str = "command", app: Flask | None = None) -> RunResult:
    """Run one job once, through its lock, in an app context (and session) of its own."""
    job = get(name)
    app = app or current_app._get_current_object()
    with app.app_context():
        claim = _claim(job)
        if claim is None:
            log.info("Tâche %s déjà en cours ailleurs : ignorée.", name)
            return RunResult(job, ran=False)
        token, started = claim
        try:
            outcome = job.func()
            db.session.commit()
            if not isinstance(outcome, Outcome):  # a job that forgot its Outcome still frees its lock
                outcome = Outcome(0, str(outcome) if outcome is not None else "Terminée.")
        except Exception as exc:  # noqa: BLE001 - recorded on the job's row; the scheduler goes on
            db.session.rollback()
            log.exception("La tâche %s a échoué.", name)
            error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__} : {exc}"
            _finish(job, token, started, trigger, status=JobStatus.FAILED, error=error)
            return RunResult(job, ran=True, status=JobStatus.FAILED, error=error[:2000])
        _finish(job, token, started, trigger, status=JobStatus.OK, outcome=outcome)
        return RunResult(job, ran=True, status=JobStatus.OK, outcome=outcome)


def run_now(name: str | None, actor) -> RunResult:
    """The operator's « Lancer maintenant »: one run through the lock; busy or failed, refused in French.

    The run commits in its own session (its row keeps the failure); the request only adds the audit event.
    """
    result = run_job(get(name).name, trigger="operator")
    if not result.ran or result.status == JobStatus.FAILED:
        raise DomainError(result.message)
    audit.record("scheduler.job_run", actor=actor, data={"job": result.job.name})
    return result


def _claim(job: PeriodicJob) -> tuple[str, datetime] | None:
    """Take the job's row (free, or its lease over) in one atomic UPDATE and commit; None if it is taken."""
    table = ScheduledJob.__table__
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(table).values(name=job.name).on_conflict_do_nothing(index_elements=["name"])
    )
    now, token = utcnow(), secrets.token_hex(16)
    claimed = db.session.execute(
        update(table)
        .where(table.c.name == job.name, or_(table.c.running_token.is_(None), table.c.lease_until < now))
        .values(running_token=token, running_since=now, lease_until=now + job.lease)
    ).rowcount
    db.session.commit()
    return (token, now) if claimed else None


def _finish(job, token, started, trigger, *, status, outcome: Outcome | None = None, error=None) -> None:
    """Record the run and free the row (only if it is still ours: a run past its lease records nothing)."""
    table = ScheduledJob.__table__
    db.session.execute(
        update(table)
        .where(table.c.name == job.name, table.c.running_token == token)
        .values(
            running_token=None,
            running_since=None,
            lease_until=None,
            last_started_at=started,
            last_finished_at=utcnow(),
            last_status=status,
            last_result=outcome.text[:500] if outcome else None,
            last_count=outcome.count if outcome else None,
            last_error=error[:2000] if error else None,
            last_trigger=trigger,
        )
    )
    db.session.commit()


# --- The scheduler process ------------------------------------------------------------------------------


def _scheduled_run(app: Flask, name: str) -> None:
    """APScheduler's entry point: whatever happens, the scheduler keeps running the other jobs."""
    try:
        result = run_job(name, trigger="scheduler", app=app)
        if result.ran and result.status == JobStatus.OK and result.outcome.count:
            log.info("%s : %s", name, result.outcome.text)
    except Exception:  # noqa: BLE001 - e.g. the database is down: logged, tried again next time
        log.exception("La tâche %s n'a pas pu être lancée.", name)


def _overdue_daily(app: Flask, jobs: list[PeriodicJob]) -> set[str]:
    """Daily jobs whose last run is more than a day old (the scheduler was down): run them at start."""
    names = [job.name for job in jobs if job.daily_at is not None]
    if not names:
        return set()
    try:
        with app.app_context():
            last = dict(
                db.session.execute(
                    select(ScheduledJob.name, ScheduledJob.last_started_at).where(
                        ScheduledJob.name.in_(names)
                    )
                ).all()
            )
    except Exception:  # noqa: BLE001 - database not reachable yet: start anyway, the jobs will retry
        log.exception("Dernières exécutions illisibles au démarrage du planificateur.")
        return set()
    limit = utcnow() - timedelta(days=1, minutes=5)
    return {name for name in names if last.get(name) is None or last[name] < limit}


def build_scheduler(app: Flask, *, jobs: list[PeriodicJob] | None = None, background: bool = False):
    """An APScheduler scheduler running ``jobs`` (default: every registered job) on their triggers.

    Interval jobs run once at start, then every interval; daily jobs at their time (and at start when their
    last run is over a day old). One run of a job at a time per process, missed runs coalesced.
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    jobs = registered() if jobs is None else jobs
    scheduler = (BackgroundScheduler if background else BlockingScheduler)(
        timezone=PARIS,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    overdue = _overdue_daily(app, jobs)
    now = datetime.now(PARIS)
    for job in jobs:
        start_now = job.every is not None or job.name in overdue
        scheduler.add_job(
            _scheduled_run,
            job.trigger(),
            args=[app, job.name],
            id=job.name,
            name=job.label,
            **({"next_run_time": now} if start_now else {}),
        )
    return scheduler


def run_forever(app: Flask) -> None:
    """`flask scheduler`: block until SIGINT/SIGTERM, then wait for the running jobs to end."""
    scheduler = build_scheduler(app)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
