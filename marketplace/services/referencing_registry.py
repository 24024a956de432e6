"""The OPCO's registry of referenced training organisations, and the automatic suspension on Qualiopi expiry.

Rules held here:

- The registry lists an OPCO's referencings (organisation × action × validity × price × status and reason),
  filtered by action and status, in a constant number of queries.
- Suspending, reactivating and withdrawing go through ``referencings.transition_referencing`` (reason required
  to suspend or withdraw) and tell the organisation by e-mail.
- An organisation whose Qualiopi certificate no longer covers « actions de formation » (expired, or the
  category dropped) has every ACTIVE referencing suspended with the reason « Certificat Qualiopi expiré le
  jj/mm/aaaa »: by the daily command ``flask suspend-expired-referencings`` and whenever it tries to create a
  session. A suspended referencing opens no new session (``services.session_input.check_referencing``), and no
  enrolment or confirmation is possible on its sessions (``services.eligibility.funding_blocker``).
- Such a suspension is flagged (``suspended_for_qualiopi``): when the organisation records its renewed
  certificate (``services.qualiopi.renew_qualiopi``) those referencings are reactivated, not the ones an
  OPCO suspended by hand.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import false, or_, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.formatting import date_fr
from marketplace.models import (
    CollectiveAction,
    Opco,
    Referencing,
    ReferencingStatus,
    TrainingProvider,
    User,
)
from marketplace.services import accounts, outbox, referencings
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import qualiopi_is_valid
from marketplace.services.pagination import Page, paginate
from marketplace.services.roles import Perm

EVENT_TEMPLATES = {
    "suspend": "referencing_suspended",
    "reactivate": "referencing_reactivated",
    "withdraw": "referencing_withdrawn",
}


def registry(opco: Opco, action_id: int | None = None, status: str | None = None) -> list[Referencing]:
    """The OPCO's referencings, by action title then organisation name (action and organisation loaded)."""
    return list(db.session.scalars(registry_query(opco, action_id, status)).unique())


def registry_page(
    opco: Opco, action_id: int | None = None, status: str | None = None, page: int | None = 1
) -> Page[Referencing]:
    """One page of the registry (a national OPCO references thousands of organisations)."""
    return paginate(registry_query(opco, action_id, status), page, unique=True)


def registry_query(opco: Opco, action_id: int | None = None, status: str | None = None):
    """Select of the registry's rows, ordered, with the filters (an unknown state is refused)."""
    query = (
        select(Referencing)
        .join(CollectiveAction, CollectiveAction.id == Referencing.action_id)
        .join(TrainingProvider, TrainingProvider.id == Referencing.provider_id)
        .where(Referencing.opco_id == opco.id)
        .order_by(CollectiveAction.title, CollectiveAction.id, TrainingProvider.name, Referencing.id)
    )
    if action_id:
        # An id beyond the database's integers names no action (and would overflow the query).
        query = query.where(Referencing.action_id == action_id if action_id <= 2_147_483_647 else false())
    if status:
        if status not in ReferencingStatus.LABELS:
            raise DomainError("Choisissez un état de référencement dans la liste.", field="status")
        query = query.where(Referencing.status == status)
    return query


def registry_actions(opco: Opco) -> list[CollectiveAction]:
    """The OPCO's actions that have at least one referencing (for the filter), by title."""
    has_referencing = select(Referencing.action_id).where(Referencing.opco_id == opco.id)
    return list(
        db.session.scalars(
            select(CollectiveAction)
            .where(CollectiveAction.opco_id == opco.id, CollectiveAction.id.in_(has_referencing))
            .order_by(CollectiveAction.title, CollectiveAction.id)
        )
    )


def provider_contacts(provider_ids: list[int]) -> dict[int, list[str]]:
    """Per organisation, the addresses of its members who open sessions or administer it."""
    return accounts.member_emails(provider_ids, "provider", Perm.MANAGE_SESSIONS, Perm.MANAGE_MEMBERS)


def change_referencing(
    referencing: Referencing, event: str, actor: User | None, reason: str | None = None
) -> str:
    """Suspend, reactivate or withdraw a referencing from the registry, and tell the organisation."""
    previous = referencings.transition_referencing(referencing, event, actor, reason=reason)
    for email in provider_contacts([referencing.provider_id]).get(referencing.provider_id, []):
        outbox.queue_email(
            email,
            EVENT_TEMPLATES[event],
            organisation_id=referencing.provider_id,
            referencing=referencing,
            action=referencing.action,
            opco=db.session.get(Opco, referencing.opco_id),
            reason=referencing.status_reason,
        )
    return previous


def qualiopi_suspension_reason(provider: TrainingProvider, today: date) -> str | None:
    """Why the organisation's referencings must be suspended today, or None while its certificate is valid."""
    if qualiopi_is_valid(provider.qualiopi_expires_on, today, provider.qualiopi_category_list):
        return None
    if provider.qualiopi_expires_on is not None and provider.qualiopi_expires_on < today:
        return f"Certificat Qualiopi expiré le {date_fr(provider.qualiopi_expires_on)}"
    return "Certificat Qualiopi ne couvrant pas les actions de formation"


def suspend_if_qualiopi_expired(provider: TrainingProvider, today: date, actor: User | None = None) -> int:
    """Suspend every ACTIVE referencing of an organisation whose Qualiopi is no longer valid; returns how many.

    Each suspension is audited under its OPCO (``referencing.suspend``) with the reason; the organisation
    receives one e-mail listing the suspended referencings.
    """
    reason = qualiopi_suspension_reason(provider, today)
    if reason is None:
        return 0
    active = list(
        db.session.scalars(
            select(Referencing)
            .where(Referencing.provider_id == provider.id, Referencing.status == ReferencingStatus.ACTIVE)
            .order_by(Referencing.id)
        )
    )
    for referencing in active:
        referencings.transition_referencing(referencing, "suspend", actor, reason=reason, for_qualiopi=True)
    if active:
        opcos = {
            o.id: o for o in db.session.scalars(select(Opco).where(Opco.id.in_({r.opco_id for r in active})))
        }
        for email in provider_contacts([provider.id]).get(provider.id, []):
            outbox.queue_email(
                email,
                "referencing_suspended_qualiopi",
                organisation_id=provider.id,
                provider=provider,
                referencings=active,
                opcos=opcos,
                reason=reason,
            )
    return len(active)


def suspend_expired(today: date) -> int:
    """Run the Qualiopi suspension over every organisation that still has an ACTIVE referencing."""
    providers = db.session.scalars(
        select(TrainingProvider)
        .where(
            TrainingProvider.id.in_(
                select(Referencing.provider_id).where(Referencing.status == ReferencingStatus.ACTIVE)
            ),
            or_(
                TrainingProvider.qualiopi_expires_on < today,
                ~TrainingProvider.qualiopi_categories.contains("actions_formation"),
            ),
        )
        .order_by(TrainingProvider.id)
    ).all()
    return sum(suspend_if_qualiopi_expired(p, today) for p in providers)


def provider_referencings(provider_id: int) -> list[Referencing]:
    """The actions a training organisation is referenced on (any OPCO), active first then by end of validity."""
    return list(
        db.session.scalars(
            select(Referencing)
            .join(CollectiveAction, CollectiveAction.id == Referencing.action_id)
            .where(Referencing.provider_id == provider_id, Referencing.status != ReferencingStatus.WITHDRAWN)
            .options(selectinload(Referencing.action).selectinload(CollectiveAction.opco))
            .order_by(Referencing.status, Referencing.valid_until.desc(), CollectiveAction.title)
        ).unique()
    )


def suspended_for_qualiopi(provider_id: int) -> list[Referencing]:
    """The organisation's referencings suspended because its Qualiopi certificate lapsed (a renewal lifts them)."""
    return list(
        db.session.scalars(
            select(Referencing)
            .where(
                Referencing.provider_id == provider_id,
                Referencing.status == ReferencingStatus.SUSPENDED,
                Referencing.suspended_for_qualiopi.is_(True),
            )
            .options(selectinload(Referencing.action).selectinload(CollectiveAction.opco))
            .order_by(Referencing.id)
        ).unique()
    )
