"""Reading an OPCO's catalogue for lists and public pages, each helper in one query whatever the rows."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import ActionStatus, CollectiveAction, Opco, SessionStatus, TrainingSession
from marketplace.services import search_index


def session_counts(action_ids: list[int]) -> dict[int, int]:
    """Number of sessions (any status) per action, in one query."""
    if not action_ids:
        return {}
    rows = db.session.execute(
        select(TrainingSession.action_id, func.count(TrainingSession.id))
        .where(TrainingSession.action_id.in_(action_ids))
        .group_by(TrainingSession.action_id)
    ).all()
    return {action_id: count for action_id, count in rows}


def upcoming_open_session_counts(action_ids: list[int], today: date | None = None) -> dict[int, int]:
    """Number of sessions open for registration and not started yet, per action, in one query."""
    if not action_ids:
        return {}
    rows = db.session.execute(
        select(TrainingSession.action_id, func.count(TrainingSession.id))
        .where(
            TrainingSession.action_id.in_(action_ids),
            TrainingSession.status == SessionStatus.OPEN,
            TrainingSession.start_date >= (today or paris_today()),
        )
        .group_by(TrainingSession.action_id)
    ).all()
    return {action_id: count for action_id, count in rows}


def upcoming_open_sessions(action: CollectiveAction, today: date | None = None) -> list[TrainingSession]:
    """Sessions of the action open for registration and not started yet, soonest first."""
    return list(
        db.session.scalars(
            select(TrainingSession)
            .where(
                TrainingSession.action_id == action.id,
                TrainingSession.status == SessionStatus.OPEN,
                TrainingSession.start_date >= (today or paris_today()),
            )
            .order_by(TrainingSession.start_date, TrainingSession.id)
        )
    )


def status_counts(opco_id: int) -> dict[str, int]:
    """Number of actions per status in an OPCO's catalogue."""
    rows = db.session.execute(
        select(CollectiveAction.status, func.count(CollectiveAction.id))
        .where(CollectiveAction.opco_id == opco_id)
        .group_by(CollectiveAction.status)
    ).all()
    return {status: count for status, count in rows}


def public_opcos() -> list[tuple[Opco, int]]:
    """OPCOs on the platform with their number of published actions, by name (one query)."""
    published = (
        select(CollectiveAction.opco_id, func.count(CollectiveAction.id).label("n"))
        .where(CollectiveAction.status == ActionStatus.PUBLISHED)
        .group_by(CollectiveAction.opco_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Opco, func.coalesce(published.c.n, 0))
        .outerjoin(published, published.c.opco_id == Opco.id)
        .order_by(Opco.name)
    ).all()
    return [(opco, int(n)) for opco, n in rows]


def published_actions_query(opco: Opco, q: str = ""):
    """The OPCO's published actions matching every word of ``q`` (title, reference, objectives, theme), by
    title: a query for ``pagination.paginate``. Words are looked up in the text-search index."""
    query = select(CollectiveAction).where(
        CollectiveAction.opco_id == opco.id, CollectiveAction.status == ActionStatus.PUBLISHED
    )
    # A word matches as typed (lower-cased) or without accents: the stored text holds both forms.
    for word in (q or "").lower().split()[:8]:
        query = query.where(search_index.action_condition(word))
    return query.order_by(CollectiveAction.title, CollectiveAction.id)


def published_action(opco: Opco, action_id: int) -> CollectiveAction | None:
    """The OPCO's action if it is published (None otherwise: drafts, archives and other OPCOs' actions stay hidden)."""
    return db.session.scalar(
        select(CollectiveAction).where(
            CollectiveAction.id == action_id,
            CollectiveAction.opco_id == opco.id,
            CollectiveAction.status == ActionStatus.PUBLISHED,
        )
    )
