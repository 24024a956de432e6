"""Exports run in the background: asked from the « Exports » page, built row by row, downloaded when ready.

A member asks for an export (``start``): the kind must be one its organisation's kind offers and its role
must allow it; the job is recorded « en attente » in the request's transaction and nothing else happens in
the request. Then:

- **with Redis** (``REDIS_URL``) the job is handed to RQ once the request has committed (``services.jobs``);
- **without Redis** it waits for the scheduler's « exports » job (every 5 s), which claims the waiting
  exports one by one. Not a thread in the web worker: gunicorn kills and recycles its workers (timeout,
  restart), which would silently lose a half-written export, and a long export would take the worker's CPU
  from the requests it serves; the scheduler already runs beside gunicorn in the first command
  (``scripts/run.sh``) and is where emails leave without Redis, and its claims make two schedulers safe.

Running (``run``) claims the job with one atomic UPDATE (queued → running; a second runner finds nothing to
claim), counts the rows, then streams them from a server-side cursor through ``export_writer`` into a file
on the storage's disk, hashing as it writes; every ``PROGRESS_EVERY`` rows the count done is written in a
short transaction of its own (another connection), which is what the page's bar polls. The finished file is
moved into ``services.storage`` and kept ``KEEP_DAYS`` days; the daily « purge-exports » job deletes it then.
A failure leaves the job « Échec » with a French message (the details go to the log); a runner that died
(no progress for ``STALE_AFTER``) is marked failed by the scheduler so the person can ask again.

Only members of the organisation that asked may see or download a job (others: 404).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.models import ExportJob, ExportStatus, Organisation, User, utcnow
from marketplace.services import audit, company_history, export_lists, export_writer, jobs, storage
from marketplace.services.errors import InvalidForm
from marketplace.services.exports import Exporter
from marketplace.services.invoice_pages import InvoicesExport
from marketplace.services.roles import Perm, has_permission

log = logging.getLogger(__name__)

JOB = "exports.run"
KEEP_DAYS = 7
PROGRESS_EVERY = 1_000  # rows between two progress writes
STALE_AFTER = timedelta(minutes=15)
QUEUE_GRACE = timedelta(minutes=2)  # with Redis, a job still waiting after this is run by the scheduler
FORMATS = {"csv": "CSV (Excel)", "xlsx": "XLSX (Excel)"}
RECENT = 20
FAILED_MESSAGE = "L'export n'a pas pu être produit. Réessayez ; si l'échec se répète, contactez le support."
STALE_MESSAGE = "L'export s'est interrompu (serveur redémarré). Demandez-le à nouveau."
_PENDING = "export_jobs_pending"


@dataclass(frozen=True)
class ExportKind:
    code: str
    label: str
    description: str
    permission: str
    build: Callable[[int, dict], Exporter]  # (organisation id, parameters) → exporter


def _survey_answers(scope_key: str) -> Callable[[int, dict], Exporter]:
    from marketplace.services.survey_export import SurveyAnswersExport
    from marketplace.services.survey_results import Scope

    return lambda org_id, p: SurveyAnswersExport(
        Scope(**{scope_key: org_id}), "reponses-questionnaires", p.get("year")
    )


_SURVEY_ANSWERS = (
    "questionnaires",
    "Réponses aux questionnaires",
    "Une ligne par réponse à une question des questionnaires de satisfaction (à chaud, à froid) ; les "
    "réponses anonymes sans nom ni entreprise, et seulement quand leur session en compte au moins 3.",
)


def _of_figures(org_id: int, params: dict) -> Exporter:
    from marketplace.services.provider_figures import ActionFiguresExport

    return ActionFiguresExport(org_id, params.get("year"))


KINDS: dict[str, tuple[ExportKind, ...]] = {
    "opco": (
        ExportKind(
            "inscriptions",
            "Inscriptions",
            "Toutes les inscriptions du catalogue : entreprise (SIRET, tranche d'effectif, branche, région), "
            "action, organisme, dates, état, prise en charge et reste à charge, heures prévues et réalisées.",
            Perm.VIEW_REPORTS,
            lambda org_id, p: export_lists.EnrolmentsExport("opco", org_id, p.get("year")),
        ),
        ExportKind(
            "stagiaires",
            "Stagiaires",
            "Une ligne par stagiaire et par session : salarié, entreprise, action, résultat et heures.",
            Perm.VIEW_REPORTS,
            lambda org_id, p: export_lists.TraineesExport("opco", org_id, p.get("year")),
        ),
        ExportKind(
            "sessions",
            "Sessions",
            "Les sessions tenues, annulées ou à venir : places, stagiaires, remplissage, heures.",
            Perm.VIEW_REPORTS,
            lambda org_id, p: export_lists.SessionsExport("opco", org_id, p.get("year")),
        ),
        ExportKind(
            "factures",
            "Factures",
            "Les factures et avoirs des organismes adressés à l'OPCO : montants, état, date de paiement.",
            Perm.CONTROL_DELIVERY,
            lambda org_id, p: export_lists.OpcoInvoicesExport(org_id, p.get("year")),
        ),
        ExportKind(*_SURVEY_ANSWERS, Perm.VIEW_REPORTS, _survey_answers("opco_id")),
    ),
    "provider": (
        ExportKind(
            "inscriptions",
            "Inscriptions",
            "Toutes les inscriptions à vos sessions : entreprise, action, dates, état, montants, heures.",
            Perm.MANAGE_SESSIONS,
            lambda org_id, p: export_lists.EnrolmentsExport("provider", org_id, p.get("year")),
        ),
        ExportKind(
            "stagiaires",
            "Stagiaires",
            "Une ligne par stagiaire et par session : salarié, entreprise, résultat et heures.",
            Perm.MANAGE_SESSIONS,
            lambda org_id, p: export_lists.TraineesExport("provider", org_id, p.get("year")),
        ),
        ExportKind(
            "sessions",
            "Sessions",
            "Vos sessions : places, stagiaires, remplissage, heures prévues et réalisées.",
            Perm.VIEW_DASHBOARD,
            lambda org_id, p: export_lists.SessionsExport("provider", org_id, p.get("year")),
        ),
        ExportKind(
            "factures",
            "Factures",
            "Vos factures et avoirs émis, pour votre comptable.",
            Perm.INVOICE,
            lambda org_id, p: InvoicesExport(org_id, p.get("year")),
        ),
        ExportKind(
            "indicateurs",
            "Indicateurs par action",
            "Sessions tenues et annulées, remplissage, stagiaires, réalisation et chiffre d'affaires par action.",
            Perm.INVOICE,
            _of_figures,
        ),
        ExportKind(*_SURVEY_ANSWERS, Perm.VIEW_DASHBOARD, _survey_answers("provider_id")),
    ),
    "company": (
        ExportKind(
            "historique",
            "Historique des formations",
            "Les formations de vos salariés : dates, heures, résultat, prise en charge OPCO et reste à charge.",
            Perm.VIEW_DASHBOARD,
            lambda org_id, p: company_history.CompanyHistoryExport(org_id, p.get("year")),
        ),
    ),
}


def kinds_for(org_kind: str, role: str) -> list[ExportKind]:
    """The exports this member may ask for."""
    return [k for k in KINDS.get(org_kind, ()) if has_permission(org_kind, role, k.permission)]


def kind_label(org_kind: str, code: str) -> str:
    return next((k.label for k in KINDS.get(org_kind, ()) if k.code == code), code)


def _exporter(job: ExportJob, org_kind: str) -> Exporter:
    kind = next(k for k in KINDS[org_kind] if k.code == job.kind)
    return kind.build(job.organisation_id, dict(job.parameters or {}))


# --- Asking for an export ------------------------------------------------------------------------------------


def parse_year(value: str | None) -> int | None:
    """« 2027 » → 2027; empty → None (every year); anything else is refused in French."""
    value = (value or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise InvalidForm(
            {"year": "Indiquez une année sur quatre chiffres (par exemple 2027) ou laissez vide."}
        )
    return int(value)


def start(org: Organisation, role: str, user: User, kind: str, fmt: str, year: str | None) -> ExportJob:
    """Record the export (« en attente »); it is handed to a worker once the request commits."""
    errors: dict[str, str] = {}
    allowed = {k.code: k for k in kinds_for(org.kind, role)}
    if kind not in allowed:
        errors["kind"] = "Cet export n'est pas proposé à votre organisation ou à votre rôle."
    if fmt not in FORMATS:
        errors["format"] = "Choisissez le format CSV ou XLSX."
    try:
        parsed_year = parse_year(year)
    except InvalidForm as error:
        errors.update(error.errors)
    if errors:
        raise InvalidForm(errors)
    job = ExportJob(
        organisation_id=org.id,
        requested_by_id=user.id,
        kind=kind,
        format=fmt,
        parameters={"year": parsed_year} if parsed_year else {},
        status=ExportStatus.QUEUED,
    )
    db.session.add(job)
    db.session.flush()
    audit.record(
        "export.requested",
        organisation_id=org.id,
        actor=user,
        obj=job,
        data={
            "export": allowed[kind].label,
            "format": fmt.upper(),
            **({"year": parsed_year} if parsed_year else {}),
        },
    )
    db.session.info.setdefault(_PENDING, []).append((job.id, org.id))
    return job


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session):
    if session.get_nested_transaction() is not None:
        return
    pending = session.info.pop(_PENDING, [])
    if not pending or not current_app.config.get("REDIS_URL"):
        return  # without Redis the scheduler's « exports » job claims them: never run inside the request
    for job_id, org_id in pending:
        try:
            with current_app.app_context():
                jobs.enqueue(JOB, job_id, tenant_id=org_id)
        except Exception:  # noqa: BLE001 - the job stays queued: the scheduler runs it after QUEUE_GRACE
            log.exception("Export %s non confié à RQ ; le planificateur le reprendra.", job_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


# --- Running it ----------------------------------------------------------------------------------------------


def _set(job_id: int, **values) -> None:
    """Write progress in a short transaction of its own (the export's own transaction reads a cursor)."""
    with db.engine.begin() as connection:
        connection.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))


def _claim(job_id: int) -> bool:
    now = utcnow()
    with db.engine.begin() as connection:
        claimed = connection.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, ExportJob.status == ExportStatus.QUEUED)
            .values(status=ExportStatus.RUNNING, started_at=now, heartbeat_at=now, rows_done=0)
        ).rowcount
    return claimed == 1


def _counted(job_id: int, rows: Iterable, every: int) -> Iterator:
    for done, row in enumerate(rows, start=1):
        yield row
        if done % every == 0:
            _set(job_id, rows_done=done, heartbeat_at=utcnow())


class _Hashing:
    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.digest, self.size = chunks, hashlib.sha256(), 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk


def _write(job: ExportJob, exporter: Exporter, rows: Iterable) -> tuple[str, str, int]:
    """Stream ``rows`` into a file on the storage's disk, hashing as it goes, then store it: (key, SHA-256,
    size). The scratch file is removed whatever happens."""
    store = storage.storage()
    if job.format == "csv":
        chunks = export_writer.csv_chunks(exporter.columns, rows)
    else:
        chunks = export_writer.xlsx_chunks(
            exporter.columns, rows, title=exporter.title, widths=exporter.widths
        )
    hashing = _Hashing(chunks)
    handle, path = tempfile.mkstemp(suffix="." + job.format, dir=store.scratch_dir())
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in hashing:
                out.write(chunk)
        key = store.save_file(path, "." + job.format)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return key, hashing.digest.hexdigest(), hashing.size


def _done_values(job: ExportJob, exporter: Exporter, total: int, written: tuple[str, str, int]) -> dict:
    key, digest, size = written
    finished = utcnow()
    return dict(
        status=ExportStatus.DONE,
        rows_done=total,
        rows_total=total,
        storage_key=key,
        sha256=digest,
        size_bytes=size,
        filename=exporter.filename(job.format),
        finished_at=finished,
        heartbeat_at=finished,
        expires_at=finished + timedelta(days=KEEP_DAYS),
    )


@jobs.job(JOB)
def run(job_id: int, *, tenant_id: int | None = None, progress_every: int = PROGRESS_EVERY) -> bool:
    """Build one export if it is still waiting (claimed atomically); True when this call produced it."""
    job = db.session.get(ExportJob, job_id)
    if job is None or (tenant_id is not None and job.organisation_id != tenant_id):
        return False
    db.session.rollback()
    if not _claim(job_id):
        return False  # another runner has it, or it is no longer waiting
    try:
        job = db.session.get(ExportJob, job_id, populate_existing=True)
        org = db.session.get(Organisation, job.organisation_id)
        exporter = _exporter(job, org.kind)
        total = exporter.count()
        _set(job_id, rows_total=total, heartbeat_at=utcnow())
        written = _write(job, exporter, _counted(job_id, exporter.rows(), progress_every))
        db.session.rollback()  # the cursor's transaction ends here
        _set(job_id, **_done_values(job, exporter, total, written))
        return True
    except Exception:  # noqa: BLE001 - any failure: the person sees a French message, the log the details
        db.session.rollback()
        log.exception("Export %s en échec.", job_id)
        _set(job_id, status=ExportStatus.FAILED, error=FAILED_MESSAGE, finished_at=utcnow())
        return False


def produce_in_transaction(job: ExportJob, org_kind: str) -> ExportJob:
    """Build the export inside the caller's transaction (the demo data: no claim, no progress writes); the
    file is removed if that transaction rolls back."""
    exporter = _exporter(job, org_kind)
    total = exporter.count()
    written = _write(job, exporter, exporter.rows())
    storage.discard_if_rolled_back(written[0])
    for name, value in _done_values(job, exporter, total, written).items():
        setattr(job, name, value)
    job.started_at = job.finished_at
    db.session.info.get(_PENDING, []).clear()  # nothing left to hand over
    return job


def run_waiting(limit: int = 20, now: datetime | None = None) -> int:
    """The scheduler's part: mark dead runs failed, then run the waiting exports (oldest first).

    With Redis, only the exports still waiting after ``QUEUE_GRACE`` (their hand-over to RQ failed)."""
    now = now or utcnow()
    _set_stale_failed(now)
    query = select(ExportJob.id, ExportJob.organisation_id).where(ExportJob.status == ExportStatus.QUEUED)
    if current_app.config.get("REDIS_URL"):
        query = query.where(ExportJob.created_at < now - QUEUE_GRACE)
    waiting = db.session.execute(query.order_by(ExportJob.id).limit(limit)).all()
    db.session.rollback()
    return sum(1 for job_id, org_id in waiting if run(job_id, tenant_id=org_id))


def _set_stale_failed(now: datetime) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            update(ExportJob)
            .where(ExportJob.status == ExportStatus.RUNNING, ExportJob.heartbeat_at < now - STALE_AFTER)
            .values(status=ExportStatus.FAILED, error=STALE_MESSAGE, finished_at=now)
        )


def purge_expired(now: datetime | None = None) -> int:
    """Delete the files of finished exports past their keeping period (the row stays, « Expiré »)."""
    now = now or utcnow()
    expired = db.session.scalars(
        select(ExportJob).where(ExportJob.status == ExportStatus.DONE, ExportJob.expires_at <= now)
    ).all()
    for job in expired:
        if job.storage_key:
            storage.delete_after_commit(job.storage_key)
        job.storage_key = None
        job.status = ExportStatus.EXPIRED
    db.session.commit()
    return len(expired)


# --- Reading -------------------------------------------------------------------------------------------------


def recent(org: Organisation, limit: int = RECENT) -> list[ExportJob]:
    """The organisation's latest exports, newest first (one query)."""
    return list(
        db.session.scalars(
            select(ExportJob)
            .where(ExportJob.organisation_id == org.id)
            .order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
            .limit(limit)
        ).all()
    )


def readable(org: Organisation, job_id: int) -> ExportJob | None:
    """The job's file if ``org`` asked for it, it is ready and its bytes match their hash; None otherwise."""
    job = db.session.scalar(
        select(ExportJob).where(
            ExportJob.id == job_id,
            ExportJob.organisation_id == org.id,
            ExportJob.status == ExportStatus.DONE,
            ExportJob.storage_key.is_not(None),
        )
    )
    if job is None:
        return None
    digest = hashlib.sha256()
    try:
        for chunk in storage.storage().chunks(job.storage_key):
            digest.update(chunk)
    except OSError:
        log.exception("Fichier de l'export %s illisible.", job.id)
        return None
    if digest.hexdigest() != job.sha256:
        log.error("Export %s : le fichier ne correspond plus à son empreinte.", job.id)
        return None
    return job


def file_chunks(job: ExportJob) -> Iterator[bytes]:
    return storage.storage().chunks(job.storage_key)


def content_type(job: ExportJob) -> str:
    from marketplace.services.exports import CONTENT_TYPES

    return CONTENT_TYPES[job.format]


def requested_by_names(jobs_: list[ExportJob]) -> dict[int, str]:
    """Who asked for each export (one query for the page)."""
    ids = {j.requested_by_id for j in jobs_ if j.requested_by_id}
    if not ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
    return {u.id: u.full_name for u in users}
