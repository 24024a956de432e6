"""SQLAlchemy models, one module per aggregate. Importing this package registers every table."""

from marketplace.models.attendance import (
    Attendance,
    AttendanceAmendment,
    AttendanceStatus,
    HalfDayAttestation,
    SignMethod,
)
from marketplace.models.audit import AuditEvent
from marketplace.models.base import utcnow
from marketplace.models.budget import BudgetEnvelope, BudgetMovement, Fund, MovementKind, WhenExhausted
from marketplace.models.catalogue import (
    ActionBranch,
    ActionRegion,
    ActionStatus,
    CollectiveAction,
    FundingShare,
    Modality,
    Referencing,
    ReferencingStatus,
)
from marketplace.models.convocation import Convocation
from marketplace.models.document import Document, DocumentKind
from marketplace.models.employee import ContractType, Employee, EmployeeCategory
from marketplace.models.enrolment import Enrolment, EnrolmentStatus
from marketplace.models.export_job import ExportJob, ExportStatus
from marketplace.models.invoice import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    LineKind,
    Payer,
    PaymentBatch,
    PaymentBatchStatus,
)
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
from marketplace.models.scheduled_job import JobStatus, ScheduledJob
from marketplace.models.tender import (
    EvaluatorDeclaration,
    ResponseDocument,
    ResponseStatus,
    Score,
    ScoreSheet,
    Tender,
    TenderAttachment,
    TenderCriterion,
    TenderDocumentKind,
    TenderLot,
    TenderQuestion,
    TenderResponse,
    TenderStatus,
)
from marketplace.models.trainee_link import TraineeLink
from marketplace.models.training_session import HalfDay, SessionSlot, SessionStatus, TrainingSession
from marketplace.models.user import Invitation, LoginAttempt, LoginThrottle, Membership, User

__all__ = [
    "BudgetEnvelope",
    "BudgetMovement",
    "Fund",
    "MovementKind",
    "WhenExhausted",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceSequence",
    "InvoiceStatus",
    "LineKind",
    "Payer",
    "PaymentBatch",
    "PaymentBatchStatus",
    "Attendance",
    "AttendanceAmendment",
    "AttendanceStatus",
    "HalfDayAttestation",
    "SignMethod",
    "Convocation",
    "EvaluatorDeclaration",
    "ResponseDocument",
    "ResponseStatus",
    "Score",
    "ScoreSheet",
    "Tender",
    "TenderAttachment",
    "TenderCriterion",
    "TenderDocumentKind",
    "TenderLot",
    "TenderQuestion",
    "TenderResponse",
    "TenderStatus",
    "ActionBranch",
    "ActionRegion",
    "ActionStatus",
    "CollectiveAction",
    "ContractType",
    "Document",
    "DocumentKind",
    "Employee",
    "ExportJob",
    "ExportStatus",
    "EmployeeCategory",
    "Enrolment",
    "EnrolmentStatus",
    "FundingShare",
    "HalfDay",
    "Modality",
    "Referencing",
    "ReferencingStatus",
    "SessionSlot",
    "SessionStatus",
    "TrainingSession",
    "AuditEvent",
    "Company",
    "IdccBranch",
    "JobStatus",
    "Invitation",
    "LoginAttempt",
    "LoginThrottle",
    "Membership",
    "Opco",
    "OpcoBranch",
    "OpcoReference",
    "OrgKind",
    "Organisation",
    "OutboxMessage",
    "OutboxStatus",
    "Region",
    "ScheduledJob",
    "Theme",
    "TraineeLink",
    "TrainingProvider",
    "User",
    "utcnow",
]
