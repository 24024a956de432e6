"""One row per periodic job: who runs it now (a claimed marker with a lease) and how its last run went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db


class JobStatus:
    OK = "ok"
    FAILED = "failed"
    LABELS = {OK: "Réussie", FAILED: "Échec"}


class ScheduledJob(db.Model):
    """The lock and the last run of a job of ``services/scheduler``.

    ``running_token`` is set by one atomic UPDATE when a run starts and cleared when it ends, so two
    schedulers (or a scheduler and `flask run-job`) never run the same job at once; it survives the job's own
    commits, unlike a row lock. ``lease_until`` frees it if the process died mid-run.
    """

    __tablename__ = "scheduled_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    running_token: Mapped[str | None] = mapped_column(String(40))
    running_since: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_started_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_result: Mapped[str | None] = mapped_column(String(500))
    last_count: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(2000))
    last_trigger: Mapped[str | None] = mapped_column(String(20))
