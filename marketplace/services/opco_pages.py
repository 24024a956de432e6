"""Read models of the OPCO area's pages: the dashboard's figures, the branches covered, the approval queue.

Kept apart from the services that change things so the views hold no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.models import Company, Enrolment, EnrolmentStatus, Invitation, Membership, Opco
from marketplace.services import dashboards

APPROVAL_QUEUE_LIMIT = 200


@dataclass
class Dashboard:
    companies: int
    members: int
    pending_invitations: int
    board: dashboards.OpcoDashboard


def dashboard(opco: Opco, today: date) -> Dashboard:
    """Member companies, staff, invitations waiting, and the catalogue / sessions / enrolments board."""
    companies = db.session.scalar(select(func.count(Company.id)).where(Company.opco_id == opco.id)) or 0
    members = (
        db.session.scalar(select(func.count(Membership.id)).where(Membership.organisation_id == opco.id)) or 0
    )
    pending = (
        db.session.scalar(
            select(func.count(Invitation.id)).where(
                Invitation.organisation_id == opco.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
        )
        or 0
    )
    return Dashboard(companies, members, pending, dashboards.opco_dashboard(opco.id, today))


def companies_per_branch(opco: Opco) -> dict[str, int]:
    """Number of member companies per IDCC."""
    return dict(
        db.session.execute(
            select(Company.idcc, func.count(Company.id))
            .where(Company.opco_id == opco.id)
            .group_by(Company.idcc)
        ).all()
    )


def approval_queue(opco: Opco, limit: int = APPROVAL_QUEUE_LIMIT) -> list[Enrolment]:
    """Enrolments waiting for the OPCO's decision, oldest request first (with their companies: one query,
    not one per row)."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .options(selectinload(Enrolment.company))
            .where(Enrolment.opco_id == opco.id, Enrolment.status == EnrolmentStatus.PENDING_APPROVAL)
            .order_by(Enrolment.created_at, Enrolment.id)
            .limit(limit)
        )
    )
