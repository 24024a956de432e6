"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from marketplace.models.audit import AuditEvent
from marketplace.models.base import utcnow
from marketplace.models.organisation import (
    Company,
    Opco,
    OpcoBranch,
    Organisation,
    OrgKind,
    TrainingProvider,
)
from marketplace.models.outbox import OutboxMessage, OutboxStatus
from marketplace.models.reference import IdccBranch, OpcoReference, Region, Theme
from marketplace.models.user import Invitation, LoginAttempt, Membership, User

__all__ = [
    "AuditEvent",
    "Company",
    "IdccBranch",
    "Invitation",
    "LoginAttempt",
    "Membership",
    "Opco",
    "OpcoBranch",
    "OpcoReference",
    "OrgKind",
    "Organisation",
    "OutboxMessage",
    "OutboxStatus",
    "Region",
    "Theme",
    "TrainingProvider",
    "User",
    "utcnow",
]
