"""An action's branches, regions and funding shares kept per process, for the pages and requests that read one
session (the enrolment POST above all): three statements fewer per request.

The copy is keyed by the action's ``lists_version``, which the request reads anyway with the action's row,
and which every change of those lists replaces in the same transaction (``_new_version_on_change``, before any
flush). A process therefore never uses lists older than the action row it has just read, whichever process
made the change: after an OPCO edits the action, the next request reads the new version and loads the lists
again. Plain values are kept, never ORM objects; the region names come from ``reference_lists`` (same
expiry as every other reference list).
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import Integer, String, cast, event, inspect, literal, null, select, union_all
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.models import ActionBranch, ActionRegion, CollectiveAction, FundingShare
from marketplace.models.catalogue import ActionLists, new_lists_version
from marketplace.services import reference_lists

_LISTS = ("branches", "regions", "funding_shares")
# (database, action id) → (lists_version, idcc codes, region codes, shares).
_kept: dict[tuple[str, int], tuple[int, tuple[str, ...], tuple[str, ...], dict[str, int]]] = {}


def attach(action: CollectiveAction) -> None:
    """Give ``action`` its lists as of the version read with it (one statement when the process has not
    kept them yet); its ``idcc_codes``, ``region_codes``, ``region_names`` and ``share_for`` then read them
    while the instance holds that version (collections loaded in this request still come first)."""
    if all(name in action.__dict__ for name in _LISTS):
        return
    key = (str(db.engine.url), action.id)
    kept = _kept.get(key)
    if kept is None or kept[0] != action.lists_version:
        kept = _kept[key] = _load(action.id)
    names = dict(reference_lists.regions())
    regions = tuple((code, names.get(code, code)) for code in kept[2])
    action.kept_lists = ActionLists(kept[0], kept[1], regions, kept[3])


def _load(action_id: int):
    """The lists and the version they belong to, in one statement (one snapshot)."""
    A, B, R, F = CollectiveAction, ActionBranch, ActionRegion, FundingShare
    no_number = cast(null(), Integer)
    rows = db.session.execute(
        union_all(
            select(literal("v"), cast(null(), String), A.lists_version).where(A.id == action_id),
            select(literal("b"), B.idcc, no_number).where(B.action_id == action_id),
            select(literal("r"), R.region_code, no_number).where(R.action_id == action_id),
            select(literal("s"), F.size_band, F.percent).where(F.action_id == action_id),
        )
    ).all()
    version, branches, regions, shares = None, [], [], {}
    for kind, code, number in rows:
        if kind == "v":
            version = number
        elif kind == "b":
            branches.append(code)
        elif kind == "r":
            regions.append(code)
        else:
            shares[code] = number
    return version, tuple(sorted(branches)), tuple(regions), shares


def forget() -> None:
    _kept.clear()


@event.listens_for(Session, "before_flush")
def _new_version_on_change(session, flush_context, instances) -> None:
    """A new ``lists_version`` for every action whose branches, regions or funding shares change in this
    flush (added, removed, edited, through the action's collections or directly)."""
    changed: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, ActionBranch | ActionRegion | FundingShare) and obj.action_id is not None:
            changed.add(obj.action_id)
        elif isinstance(obj, CollectiveAction) and obj.id is not None and obj not in session.new:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _LISTS):
                changed.add(obj.id)
    if not changed:
        return
    with session.no_autoflush:
        for action_id in changed:
            action = session.get(CollectiveAction, action_id)
            if action is not None and action not in session.deleted:
                action.lists_version = new_lists_version()
