"""Read models of the platform operator's pages: organisations, OPCOs to create, branches, the outbox, jobs.

Kept apart from ``organisations`` and ``outbox`` (which change things) so the views hold no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    Company,
    IdccBranch,
    Membership,
    Opco,
    OpcoBranch,
    OpcoReference,
    Organisation,
    OutboxMessage,
    ScheduledJob,
    TrainingProvider,
    utcnow,
)
from marketplace.services import scheduler
from marketplace.services.pagination import Page, paginate

OUTBOX_PER_PAGE = 50


@dataclass
class Dashboard:
    orgs: list[Organisation]
    member_counts: dict[int, int]
    counts: dict[str, int]


def dashboard() -> Dashboard:
    """Every organisation by kind and name, with its number of members, and the totals per kind."""
    member_counts = dict(
        db.session.execute(
            select(Membership.organisation_id, func.count(Membership.id)).group_by(Membership.organisation_id)
        ).all()
    )
    orgs = list(
        db.session.scalars(
            select(Organisation).order_by(Organisation.kind, Organisation.name, Organisation.id)
        )
    )
    return Dashboard(
        orgs=orgs,
        member_counts=member_counts,
        counts={
            "opco": sum(1 for o in orgs if o.kind == "opco"),
            "company": sum(1 for o in orgs if isinstance(o, Company)),
            "provider": sum(1 for o in orgs if isinstance(o, TrainingProvider)),
        },
    )


def opco_choices(*, offer_all: bool = False) -> list[tuple[str, str]]:
    """The reference OPCOs not yet on the platform (all of them with ``offer_all``), by name."""
    present = set() if offer_all else set(db.session.scalars(select(Opco.code)))
    references = db.session.scalars(select(OpcoReference).order_by(OpcoReference.name))
    return [(r.code, r.name) for r in references if r.code not in present]


def opco(opco_id: int) -> Opco | None:
    return db.session.get(Opco, opco_id)


@dataclass
class BranchesPage:
    branches: list[IdccBranch]
    taken: dict[str, str]  # IDCC → name of the other OPCO that covers it

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(b.idcc, f"{b.idcc} – {b.label}") for b in self.branches]


def branches_page(opco: Opco) -> BranchesPage:
    """Every IDCC branch, and those already covered by another OPCO (an IDCC has one OPCO)."""
    taken = dict(
        db.session.execute(
            select(OpcoBranch.idcc, Opco.name)
            .join(Opco, OpcoBranch.opco_id == Opco.id)
            .where(Opco.id != opco.id)
        ).all()
    )
    branches = list(db.session.scalars(select(IdccBranch).order_by(IdccBranch.idcc)))
    return BranchesPage(branches=branches, taken=taken)


def outbox_page(page: int | None) -> Page[OutboxMessage]:
    """The outbox, newest first, 50 a page."""
    return paginate(select(OutboxMessage).order_by(OutboxMessage.id.desc()), page, OUTBOX_PER_PAGE)


def outbox_message(message_id: int) -> OutboxMessage | None:
    return db.session.get(OutboxMessage, message_id)


def opco_declarations() -> list[Company]:
    """Companies whose IDCC gives no OPCO and whose stated OPCO awaits the operator, oldest first."""
    return list(
        db.session.scalars(
            select(Company)
            .where(Company.declared_opco_code.is_not(None), Company.opco_confirmed_at.is_(None))
            .order_by(Company.created_at, Company.id)
        )
    )


@dataclass
class JobRow:
    job: scheduler.PeriodicJob
    state: ScheduledJob | None  # None: never run yet
    next_run: datetime | None  # None: at the scheduler's start
    late: bool  # the next run should have happened a while ago: is the scheduler running?

    @property
    def running(self) -> bool:
        return self.state is not None and self.state.running_token is not None


def scheduled_jobs(now: datetime | None = None) -> list[JobRow]:
    """Every periodic job with its last run and when the scheduler should run it next."""
    now = now or utcnow()
    states = {row.name: row for row in db.session.scalars(select(ScheduledJob))}
    rows = []
    for job in scheduler.registered():
        state = states.get(job.name)
        next_run = job.next_run(state.last_started_at if state else None, now)
        late = next_run is not None and next_run < now - timedelta(minutes=2)
        rows.append(JobRow(job, state, next_run, late and not (state and state.running_token)))
    return rows
