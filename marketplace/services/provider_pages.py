"""Read model of the training organisation's dashboard: Qualiopi status, members, sessions to fill, referencings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Membership, Referencing, TrainingProvider
from marketplace.services import dashboards, identifiers, referencing_registry


@dataclass
class ProviderDashboard:
    qualiopi_valid: bool
    days_left: int
    members: int
    fills: list[dashboards.SessionFill]
    referencings: list[Referencing]


def dashboard(provider: TrainingProvider, today: date) -> ProviderDashboard:
    """What the provider acts on first: a Qualiopi certificate about to expire, sessions below their minimum."""
    members = db.session.scalar(
        select(func.count(Membership.id)).where(Membership.organisation_id == provider.id)
    )
    return ProviderDashboard(
        qualiopi_valid=identifiers.qualiopi_is_valid(
            provider.qualiopi_expires_on, today, provider.qualiopi_category_list
        ),
        days_left=(provider.qualiopi_expires_on - today).days,
        members=int(members or 0),
        fills=dashboards.provider_sessions(provider.id, today),
        referencings=referencing_registry.provider_referencings(provider.id),
    )
