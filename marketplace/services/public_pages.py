"""Read models of the public pages (home, public catalogue), seen without signing in.

Everything here comes from the URL typed by anyone: a slug or a search that no OPCO can match (too long,
control characters) simply finds nothing instead of reaching the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import CollectiveAction, Opco, Referencing, TrainingSession
from marketplace.services import catalogue, catalogue_reads, organisations, referencings
from marketplace.services.pagination import Page, paginate
from marketplace.services.search import clean_text

PER_PAGE = 20
QUERY_MAX = 200


def home_opcos() -> list[Opco]:
    """The OPCOs on the platform, by name, for the home page."""
    return sorted_fr(db.session.scalars(select(Opco)), key=lambda o: o.name)


def opco_by_slug(slug: str) -> Opco | None:
    """The OPCO named in a public URL, or None (answer 404) — also for slugs no OPCO could have."""
    return organisations.by_slug(slug, Opco)


def search_query(raw: str | None) -> str:
    """The public search words as they will be searched and shown back (control characters dropped)."""
    return clean_text(raw, QUERY_MAX)


@dataclass
class OpcoCatalogue:
    actions: Page[CollectiveAction]
    referencings: dict[int, list[Referencing]]  # action id → training organisations referenced today
    sessions: dict[int, int]  # action id → upcoming sessions open for enrolment


def opco_catalogue(opco: Opco, q: str, page: int, today: date) -> OpcoCatalogue:
    """One page of the OPCO's published actions matching ``q`` (a page past the end shows the last one)."""
    actions = paginate(catalogue_reads.published_actions_query(opco, q), page, PER_PAGE)
    ids = [a.id for a in actions.items]
    return OpcoCatalogue(
        actions=actions,
        referencings=referencings.active_referencings(ids, today),
        sessions=catalogue_reads.upcoming_open_session_counts(ids, today),
    )


@dataclass
class ActionPage:
    action: CollectiveAction
    preview: list[catalogue.FundingPreviewRow]
    max_share: int | None
    referencings: list[Referencing]
    sessions: list[TrainingSession]


def action_page(opco: Opco, action_id: int, today: date) -> ActionPage | None:
    """A published action of the OPCO with its funding by company size, organisations and next sessions."""
    action = catalogue_reads.published_action(opco, action_id)
    if action is None:
        return None
    return ActionPage(
        action=action,
        preview=catalogue.funding_preview(action),
        max_share=catalogue.max_share(action),
        referencings=referencings.active_referencings([action.id], today).get(action.id, []),
        sessions=catalogue_reads.upcoming_open_sessions(action, today),
    )
