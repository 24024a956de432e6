"""Read models of the pages every organisation has: members and pending invitations, the log's filters.

Kept apart from ``accounts`` (which changes memberships under locks) so the views hold no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import Invitation, Membership, Organisation, User
from marketplace.services.roles import Role, is_admin_role, roles_for


def role_choices(kind: str) -> list[tuple[str, str]]:
    """The roles an organisation of this kind can give, as (code, French label)."""
    return [(code, r.label) for code, r in roles_for(kind).items()]


def default_invitation_role(kind: str) -> str | None:
    """Least surprise: invite with the first role that is not administrator unless chosen otherwise."""
    return next((code for code, _ in role_choices(kind) if code != "admin"), None)


@dataclass
class MembersPage:
    memberships: list[Membership]
    last_admin_id: int | None
    invitations: list[Invitation]
    roles: dict[str, Role]
    role_choices: list[tuple[str, str]]
    now: datetime


def members_page(organisation: Organisation, now: datetime) -> MembersPage:
    """Who has access (by name), the pending invitations (newest first), and the sole administrator if any."""
    memberships = list(
        db.session.scalars(
            select(Membership)
            .join(User)
            .options(contains_eager(Membership.user))  # the page shows each member's name: no query per row
            .where(Membership.organisation_id == organisation.id)
            .order_by(User.full_name, Membership.id)
        ).unique()
    )
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organisation_id == organisation.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )
    admins = [m for m in memberships if is_admin_role(organisation.kind, m.role)]
    return MembersPage(
        memberships=memberships,
        last_admin_id=admins[0].id if len(admins) == 1 else None,
        invitations=invitations,
        roles=roles_for(organisation.kind),
        role_choices=role_choices(organisation.kind),
        now=now,
    )


def log_people(organisation: Organisation) -> list[tuple[str, str]]:
    """The members the activity log can be filtered by, as (id, name) choices."""
    people = db.session.scalars(
        select(User)
        .join(Membership)
        .where(Membership.organisation_id == organisation.id)
        .order_by(User.full_name, User.id)
    )
    return sorted_fr([(str(user.id), user.full_name) for user in people], key=lambda row: row[1])
