"""Complaints (réclamations, Qualiopi indicator 31) and the improvement they lead to (indicator 32).

Filed by a company about one of its enrolments, or by a trainee (or the employer's contact) through their
personal questionnaire link. Treated by the training organisation of the session; the OPCO of the action sees
every complaint of its catalogue and may analyse or close one too; only the organisation answers the filer.

One machine (``COMPLAINT``): reçue → en analyse → répondue → clôturée; each step writes its text (analysis,
answer, improvement action) and an audit event on the complaint, which is its history. The filer gets the
answer by email. Tenancy: lists and pages read through ``for_org`` (the OF's, the OPCO's, the company's own;
a trainee's complaint is not shown to the employer).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    Enrolment,
    Organisation,
    Respondent,
    TrainingSession,
    User,
    utcnow,
)
from marketplace.models.limits import LONG_TEXT
from marketplace.services import accounts, audit, outbox, surveys
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.pagination import paginate
from marketplace.services.roles import Perm
from marketplace.services.state import machine

C = ComplaintStatus
COMPLAINT = machine(
    "complaint",
    C.LABELS,
    analyse=(C.RECEIVED, C.ANALYSED, "Passer en analyse"),
    answer=(C.ANALYSED, C.ANSWERED, "Répondre"),
    close=(C.ANSWERED, C.CLOSED, "Clôturer"),
)
# The text each step asks for: (attribute, required, message when missing).
STEP_TEXT = {
    "analyse": ("analysis", True, "Décrivez l'analyse de la réclamation (causes, faits vérifiés)."),
    "answer": ("answer", True, "Rédigez la réponse envoyée à l'auteur de la réclamation."),
    "close": ("improvement", False, ""),
}
STATES = tuple(C.LABELS)


def _clean(subject: str | None, description: str | None) -> tuple[str, str]:
    subject = " ".join((subject or "").split())
    description = (description or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Indiquez l'objet de la réclamation."
    elif len(subject) > 200:
        errors["subject"] = "200 caractères au maximum."
    if not description:
        errors["description"] = "Décrivez la réclamation."
    elif len(description) > LONG_TEXT:
        errors["description"] = "10 000 caractères au maximum."
    if errors:
        raise InvalidForm(errors)
    return subject, description


def _new(session: TrainingSession, enrolment: Enrolment | None, **fields) -> Complaint:
    complaint = Complaint(
        session_id=session.id,
        enrolment_id=enrolment.id if enrolment else None,
        action_id=session.action_id,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        status=C.RECEIVED,
        **fields,
    )
    db.session.add(complaint)
    db.session.flush()
    emails = accounts.member_emails([session.provider_id], "provider", Perm.MANAGE_SESSIONS)
    for email in emails.get(session.provider_id, []):
        outbox.queue_email(
            email,
            "complaint_filed",
            organisation_id=session.provider_id,
            complaint=complaint,
            session=session,
        )
    return complaint


def file_by_company(enrolment: Enrolment, subject: str, description: str, actor: User) -> Complaint:
    """The company (its member ``actor``) complains about one of its enrolments (loaded scoped to it)."""
    subject, description = _clean(subject, description)
    complaint = _new(
        enrolment.session,
        enrolment,
        filer="company",
        company_id=enrolment.company_id,
        filed_by_id=actor.id,
        filer_name=f"{actor.full_name} ({enrolment.company.name})",
        filer_email=actor.email,
        subject=subject,
        description=description,
    )
    audit.record(
        "complaint.filed",
        organisation_id=enrolment.company_id,
        actor=actor,
        obj=complaint,
        data={"title": subject, "session": enrolment.session_id},
    )
    return complaint


def file_by_link(token: str, subject: str, description: str, now: datetime | None = None) -> Complaint:
    """A trainee (or the employer's contact) complains through their questionnaire link, while it is open."""
    today = paris_today(now or utcnow())
    invitation = surveys.by_token(token, today)
    if invitation is None:
        raise DomainError("Ce lien n'est pas valable.")
    if invitation.expires_on < today:
        raise DomainError("Ce lien a expiré : adressez votre réclamation à l'organisme de formation.")
    subject, description = _clean(subject, description)
    if invitation.respondent == Respondent.MANAGER:
        filer, company_id, name = "company", invitation.company_id, invitation.company.name
    else:
        employee = invitation.enrolment.employee
        filer, company_id, name = "trainee", None, f"{employee.first_name} {employee.last_name.upper()}"
    complaint = _new(
        invitation.session,
        invitation.enrolment,
        filer=filer,
        company_id=company_id,
        filer_name=name,
        filer_email=invitation.recipient,
        subject=subject,
        description=description,
    )
    audit.record(
        "complaint.filed",
        organisation_id=company_id or invitation.session.provider_id,
        obj=complaint,
        data={"title": subject, "session": invitation.session_id},
    )
    return complaint


def file_by_trainee_link(
    token: str, subject: str, description: str, now: datetime | None = None
) -> Complaint:
    """A trainee complains through the personal link of their documents (convocation, certificate), which
    lives as long as the proofs are kept, where the questionnaire's link closes after 30 days."""
    from marketplace.services import certificates

    link = certificates.link_for_token(token, paris_today(now or utcnow()))
    if link is None:
        raise DomainError("Ce lien n'est pas valable.")
    subject, description = _clean(subject, description)
    enrolment = link.enrolment
    employee = enrolment.employee
    if not employee.email:
        raise DomainError(
            "Aucune adresse e-mail n'est connue pour vous répondre : adressez votre réclamation à votre "
            "employeur ou à l'organisme de formation."
        )
    complaint = _new(
        enrolment.session,
        enrolment,
        filer="trainee",
        company_id=None,
        filer_name=f"{employee.first_name} {employee.last_name.upper()}",
        filer_email=employee.email,
        subject=subject,
        description=description,
    )
    audit.record(
        "complaint.filed",
        organisation_id=enrolment.session.provider_id,
        obj=complaint,
        data={"title": subject, "session": enrolment.session_id},
    )
    return complaint


def allowed_events(complaint: Complaint, org: Organisation) -> list[str]:
    """The steps ``org`` may take now (the OF all of them; the OPCO analyses and closes, never answers)."""
    if org.kind == "provider" and complaint.provider_id == org.id:
        return COMPLAINT.allowed(complaint.status)
    if org.kind == "opco" and complaint.opco_id == org.id:
        return [e for e in COMPLAINT.allowed(complaint.status) if e != "answer"]
    return []


def transition(
    complaint: Complaint, event: str, text: str | None, actor: User, org: Organisation
) -> Complaint:
    """One step of the complaint by ``org`` with its text; the answer is emailed to the filer."""
    if event not in STEP_TEXT:
        raise DomainError("Action inconnue.")
    attribute, required, missing = STEP_TEXT[event]
    text = (text or "").strip()
    if event not in allowed_events(complaint, org) and COMPLAINT.can(complaint.status, event):
        raise DomainError("Seul l'organisme de formation répond à l'auteur de la réclamation.")
    if required and not text:
        raise InvalidForm({"text": missing})
    if len(text) > LONG_TEXT:
        raise InvalidForm({"text": "10 000 caractères au maximum."})
    COMPLAINT.apply(complaint, event, actor, organisation_id=org.id, data={"title": complaint.subject})
    if text:
        setattr(complaint, attribute, text)
    now = utcnow()
    if event == "answer":
        complaint.answered_at = now
        outbox.queue_email(
            complaint.filer_email,
            "complaint_answered",
            organisation_id=complaint.company_id,
            complaint=complaint,
            session=complaint.session,
        )
    elif event == "close":
        complaint.closed_at = now
    return complaint


# --- Reading -----------------------------------------------------------------------------------------------


def _owner_column(org: Organisation):
    return {"provider": Complaint.provider_id, "opco": Complaint.opco_id, "company": Complaint.company_id}[
        org.kind
    ]


def for_org(org: Organisation, complaint_id: int) -> Complaint | None:
    return db.session.scalar(
        select(Complaint).where(Complaint.id == complaint_id, _owner_column(org) == org.id)
    )


def clean_state(value: str | None) -> str | None:
    return value if value in STATES else None


def page_for(org: Organisation, state: str | None, page: int):
    query = (
        select(Complaint)
        .where(_owner_column(org) == org.id)
        .options(
            joinedload(Complaint.session).joinedload(TrainingSession.action),
            joinedload(Complaint.provider),
        )
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
    )
    if state:
        query = query.where(Complaint.status == state)
    return paginate(query, page)


def history(complaint: Complaint) -> list[tuple[AuditEvent, str, str]]:
    """The complaint's events, oldest first, in French, with who did each (a person, or the filer)."""
    rows = db.session.execute(
        select(AuditEvent, User.full_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.object_type == "Complaint", AuditEvent.object_id == complaint.id)
        .order_by(AuditEvent.id)
    ).all()
    return [(event, audit.action_label(event.action), name or complaint.filer_name) for event, name in rows]


def filable_enrolments(company_id: int) -> list[Enrolment]:
    """The company's enrolments a complaint may be about: those whose trainee was expected or went."""
    from marketplace.models import EnrolmentStatus

    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.company_id == company_id, Enrolment.status.in_(EnrolmentStatus.TRAINEES))
            .options(joinedload(Enrolment.session).joinedload(TrainingSession.action))
            .order_by(Enrolment.id.desc())
            .limit(200)
        )
    )
