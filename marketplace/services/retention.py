"""Retention of training proofs and erasure of an employee on request (RGPD, art. 17 and 17.3.b).

The rules, decided here and stated in the README:

- **How long**: the proofs of a session (certificates, attestations, attendance sheets, paper scans,
  connection logs) are kept until ``purge_after`` = the session's last day + the funding OPCO's
  ``retention_years`` (6 by default: the OPCOs' control of the pièces justificatives; the certificate alone
  needs 3, co-financed FSE actions 10 — an OPCO raises its setting then). ``purge_after(session)`` gives
  that day; every service issuing a proof sets it on the Document.
- **Erasure on request** (``erase_employee``): refused while an enrolment is alive (as before) or a training
  is not closed yet (in training, outcome not frozen by the service fait). An employee with no delivery
  proof (never trained: every enrolment is history) is erased exactly as before (services.employees: names,
  email and job blanked). An employee who trained has proofs the law obliges the training organisation and
  the OPCO to keep: the email and job title are erased at once, the row is marked erased (the company's
  register shows « Salarié supprimé », no email is sent any more), but the last and first names stay, only
  for the proofs (the stored PDFs already carry them; the OPCO's control view and a certificate issued again
  after a correction read them through ``proof_name``), until the latest retention end of their sessions.
- **Purge** (``purge(today)``, the `flask purge-retention` command, run daily by the scheduler): every
  document whose ``purge_after`` is before ``today`` loses its file (deleted from storage after the
  commit), its ``storage_key`` is set null and ``purged_at`` set; its filename, which may carry the
  trainee's name, becomes a generic one; the row (kind, session, hash, dates) stays as the trace that the
  proof existed. Trainee links past their end are deleted, and a satisfaction questionnaire's link past its
  end forgets the address it was sent to (the invitation row stays: it counts in the response rates). An
  erased employee whose retention has ended loses the names kept for the proofs. Running it twice changes
  nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select, update

from marketplace.extensions import db
from marketplace.formatting import plural
from marketplace.models import (
    Document,
    DocumentKind,
    Employee,
    Enrolment,
    EnrolmentStatus,
    Opco,
    SurveyInvitation,
    TraineeLink,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.services import audit, storage
from marketplace.services import employees as register
from marketplace.services.errors import DomainError

S = EnrolmentStatus
# Enrolments whose training took place (or is taking place): they have, or will have, proofs to keep.
WITH_PROOFS = (S.IN_TRAINING, *S.OUTCOMES, S.CLOSED)
NOT_CLOSED = (S.IN_TRAINING, *S.OUTCOMES)
BATCH = 500
PURGED_FILENAMES = {
    DocumentKind.CONVOCATION: "convocation-supprimee.pdf",
    DocumentKind.ATTENDANCE_SHEET: "feuille-emargement-supprimee.pdf",
    DocumentKind.PAPER_SHEET: "feuille-emargement-papier-supprimee",
    DocumentKind.CONNECTION_LOG: "releve-connexions-supprime",
    DocumentKind.CERTIFICATE: "certificat-realisation-supprime.pdf",
    DocumentKind.ATTESTATION: "attestation-fin-formation-supprimee.pdf",
}


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def purge_after(session: TrainingSession) -> date:
    """Last day a proof of ``session`` is kept: its last day + the funding OPCO's retention period."""
    years = db.session.scalar(select(Opco.retention_years).where(Opco.id == session.opco_id))
    return add_years(session.end_date, int(years if years is not None else 6))


def retention_end(employee: Employee) -> date | None:
    """Latest end of retention over the sessions the employee trained in; None without any proof."""
    rows = db.session.execute(
        select(TrainingSession.end_date, Opco.retention_years)
        .join(Enrolment, Enrolment.session_id == TrainingSession.id)
        .join(Opco, Opco.id == TrainingSession.opco_id)
        .where(Enrolment.employee_id == employee.id, Enrolment.status.in_(WITH_PROOFS))
    ).all()
    return max((add_years(end, years) for end, years in rows), default=None)


def names_kept(employee: Employee) -> bool:
    """Erased, but the names are still kept for the proofs (until the retention end)."""
    return employee.erased_at is not None and employee.last_name != register.ERASED_PLACEHOLDER


def proof_name(employee: Employee) -> str:
    """« NOM Prénom » as on the proofs: kept for an erased trainee until the retention end."""
    if employee.erased_at is None or names_kept(employee):
        return f"{employee.last_name.upper()} {employee.first_name}"
    return "Salarié supprimé"


# --- Erasure on request -------------------------------------------------------------------------------


def erase_employee(employee: Employee, actor: User | None) -> Employee:
    """Erase at the company's request, keeping only what the proofs of past trainings require (see above)."""
    if employee.erased_at is not None:
        raise DomainError("Ce salarié a déjà été supprimé du registre.")
    if register.active_enrolment_count(employee):
        return register.erase_employee(employee, actor)  # refuses with the register's message
    statuses = set(
        db.session.scalars(select(Enrolment.status).where(Enrolment.employee_id == employee.id)).all()
    )
    if statuses & set(NOT_CLOSED):
        raise DomainError(
            "Ce salarié suit une formation qui n'est pas encore clôturée : il pourra être supprimé du "
            "registre une fois le service fait déclaré par l'organisme de formation."
        )
    keep_until = retention_end(employee) if statuses & set(WITH_PROOFS) else None
    if keep_until is None:
        return register.erase_employee(employee, actor)  # no proof: erased entirely, as before
    employee.email = ""
    employee.job_title = ""
    employee.erased_at = utcnow()
    db.session.flush()
    audit.record(
        "employee.erased",
        organisation_id=employee.company_id,
        actor=actor,
        obj=employee,
        data={"names_kept_until": keep_until.isoformat()},
    )
    return employee


# --- Purge at the end of the retention period ---------------------------------------------------------


@dataclass
class PurgeReport:
    documents: int = 0
    links: int = 0
    employees: int = 0
    survey_addresses: int = 0

    def summary(self) -> str:
        return (
            f"{plural(self.documents, 'document supprimé')}, {plural(self.links, 'lien stagiaire expiré')}, "
            f"{plural(self.survey_addresses, 'adresse effacée')} (questionnaires clos), "
            f"{plural(self.employees, 'salarié effacé')} à la fin de la conservation."
        )


def purge(today: date) -> PurgeReport:
    """Delete what has passed its retention end (idempotent; files go once the caller commits)."""
    report = PurgeReport()
    now = utcnow()
    while True:
        batch = db.session.scalars(
            select(Document)
            .where(Document.purge_after < today, Document.purged_at.is_(None))
            .order_by(Document.id)
            .limit(BATCH)
        ).all()
        if not batch:
            break
        for document in batch:
            if document.storage_key:
                storage.delete_after_commit(document.storage_key)
            document.storage_key = None
            document.purged_at = now
            document.filename = PURGED_FILENAMES.get(document.kind, "document-supprime")
        report.documents += len(batch)
        db.session.flush()
    report.links = (
        db.session.execute(delete(TraineeLink).where(TraineeLink.valid_until < today)).rowcount or 0
    )
    report.survey_addresses = (
        db.session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.expires_on < today, SurveyInvitation.recipient != "")
            .values(recipient="")
        ).rowcount
        or 0
    )
    for employee in db.session.scalars(
        select(Employee).where(
            Employee.erased_at.is_not(None), Employee.last_name != register.ERASED_PLACEHOLDER
        )
    ):
        end = retention_end(employee)
        if end is None or end < today:
            employee.last_name = register.ERASED_PLACEHOLDER
            employee.first_name = register.ERASED_PLACEHOLDER
            report.employees += 1
    db.session.flush()
    return report


def documents_due(today: date) -> int:
    """How many documents the next purge would delete (for the command's dry information)."""
    return int(
        db.session.scalar(
            select(func.count(Document.id)).where(Document.purge_after < today, Document.purged_at.is_(None))
        )
        or 0
    )
