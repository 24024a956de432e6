"""Calls for tenders on the OPCO's side: the tender itself (its draft with lots, criteria and files) and its
status changes (publish, close, analyse, declare unsuccessful).

Rules held here:

- A tender is built as a draft: title, a reference unique in the OPCO, context and specification, a calendar
  (deadlines typed in Paris time, stored in UTC), the documents each response must carry, at least one lot
  (theme × region or national, volumes, maximum price per trainee) and at least one criterion; the criteria's
  weights are whole numbers that total exactly 100. Only a draft can be changed.
- Its status changes only through ``tender_states.tender_transition``; the guards that depend on more than
  the state (complete calendar in the future, weights, lots) are checked here before. A published tender
  closes by itself at its submission deadline: from then on it reads and behaves as closed
  (``tender_states.effective_status``, computed on read, so a page never writes); :func:`close_due_tenders`
  (the ``close-tenders`` command, for a scheduler) writes it down, and so does :func:`refresh_status` in the
  POSTs that need the stored status (start the analysis, declare unsuccessful), under the tender's row lock.

Split by sub-domain: ``tender_inputs`` (what is typed and its validation), ``tender_questions`` (questions and
answers), ``tender_listing`` (the OPCO's list and what training organisations read), ``tender_pages`` (the
pages' read models); responses in ``tender_responses`` (drafting, submission) and ``tender_response_reads``,
evaluation and award in ``evaluation``, ``evaluation_scores`` and ``evaluation_award``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import (  # noqa: F401
    PARIS,
    datetime_fr,
    paris_to_utc,
    paris_today,
    to_paris,
    utc_to_paris,
)
from marketplace.models import (
    Opco,
    ResponseStatus,
    Tender,
    TenderAttachment,
    TenderCriterion,
    TenderLot,
    TenderResponse,
    TenderStatus,
    User,
    utcnow,
)
from marketplace.services import audit, storage
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_row
from marketplace.services.tender_inputs import (
    CleanTender,
    TenderInput,
    clean,
    refuse_control,
    weights_problem,
)
from marketplace.services.tender_states import TENDER, effective_status, tender_transition

T = TenderStatus

# Responses that count as received by the OPCO (drafts and withdrawn ones do not).
RECEIVED = (
    ResponseStatus.SUBMITTED,
    ResponseStatus.ADMISSIBLE,
    ResponseStatus.INADMISSIBLE,
    ResponseStatus.RETAINED,
    ResponseStatus.NOT_RETAINED,
)


# --- Time -------------------------------------------------------------------------------------------


def deadline_passed(tender: Tender, now: datetime) -> bool:
    """True once the submission deadline is over (a draft without deadline has none to pass)."""
    return tender.submission_deadline is not None and now >= tender.submission_deadline


def days_left(deadline: datetime | None, now: datetime) -> int | None:
    """Whole calendar days (Paris) between today and the deadline's day; None when passed or unknown."""
    if deadline is None or deadline <= now:
        return None
    return (to_paris(deadline).date() - paris_today(now)).days


def time_left_label(deadline: datetime | None, now: datetime) -> str:
    """« il reste 12 jours », « il reste 1 jour », « dernier jour, jusqu'à 12h00 », « date passée »."""
    if deadline is None:
        return ""
    days = days_left(deadline, now)
    if days is None:
        return "date passée"
    if days == 0:
        return f"dernier jour, jusqu'à {to_paris(deadline):%H}h{to_paris(deadline):%M}"
    return f"il reste {days} jour{'s' if days > 1 else ''}"


# --- Building the draft -----------------------------------------------------------------------------


def _apply(tender: Tender, cleaned: CleanTender) -> None:
    for name in (
        "title",
        "reference",
        "context",
        "specification",
        "questions_deadline",
        "submission_deadline",
        "expected_award_date",
        "multi_award",
    ):
        setattr(tender, name, getattr(cleaned, name))
    tender.required_documents = list(cleaned.required_documents)
    # Rows are updated in place, then added or removed at the end: a replaced lot would collide with its
    # own (tender, number) unique constraint, since the unit of work inserts before it deletes.
    for number, lot in enumerate(cleaned.lots, start=1):
        if number <= len(tender.lots):
            row = tender.lots[number - 1]
        else:
            row = TenderLot(number=number)
            tender.lots.append(row)
        row.number = number
        row.title = lot.title
        row.theme_code = lot.theme_code
        row.region_code = lot.region_code
        row.expected_sessions = lot.expected_sessions
        row.expected_trainees = lot.expected_trainees
        row.max_price_cents = lot.max_price_cents
        row.duration_hours = lot.duration_hours
        row.action_id = lot.action_id
    del tender.lots[len(cleaned.lots) :]
    for position, (label, weight) in enumerate(cleaned.criteria):
        if position < len(tender.criteria):
            row = tender.criteria[position]
        else:
            row = TenderCriterion()
            tender.criteria.append(row)
        row.position, row.label, row.weight = position, label, weight
    del tender.criteria[len(cleaned.criteria) :]


def create_tender(opco: Opco, data: TenderInput, actor: User | None, now: datetime | None = None) -> Tender:
    """Create a draft tender after validating every field (InvalidTender lists all the errors)."""
    cleaned = clean(opco, data, None)
    tender = Tender(opco_id=opco.id, status=T.DRAFT, reference=cleaned.reference, title=cleaned.title)
    db.session.add(tender)
    _apply(tender, cleaned)
    db.session.flush()
    audit.record(
        "tender.created",
        organisation_id=opco.id,
        actor=actor,
        obj=tender,
        data={"reference": tender.reference, "title": tender.title, "lots": len(tender.lots)},
    )
    return tender


def update_tender(tender: Tender, data: TenderInput, actor: User | None, now: datetime | None = None) -> None:
    """Change a draft tender (a published one is frozen: every organisation reads the same call)."""
    if tender.status != T.DRAFT:
        raise DomainError(
            f"Seul un appel d'offres en brouillon peut être modifié : celui-ci est « {tender.status_label} »."
        )
    opco = db.session.get(Opco, tender.opco_id)
    cleaned = clean(opco, data, tender)
    _apply(tender, cleaned)
    db.session.flush()
    audit.record(
        "tender.updated",
        organisation_id=tender.opco_id,
        actor=actor,
        obj=tender,
        data={"reference": tender.reference, "lots": len(tender.lots), "criteria": len(tender.criteria)},
    )


# --- Attachments ------------------------------------------------------------------------------------


def attachments(tender: Tender) -> list[TenderAttachment]:
    return list(
        db.session.scalars(
            select(TenderAttachment)
            .where(TenderAttachment.tender_id == tender.id)
            .order_by(TenderAttachment.id)
        )
    )


def add_attachment(tender: Tender, filename: str, data: bytes, actor: User | None) -> TenderAttachment:
    """Attach a file to the specification (PDF, DOCX, XLSX, ODT, size-limited) while the tender is a draft or
    published; a refused file is neither stored nor recorded."""
    if tender.status not in (T.DRAFT, T.PUBLISHED):
        raise DomainError(
            f"Les pièces d'un appel d'offres « {tender.status_label} » ne peuvent plus être complétées.",
            field="file",
        )
    if not filename and not data:
        raise DomainError("Choisissez le fichier à joindre.", field="file")
    stored = storage.store(filename, data)
    storage.discard_if_rolled_back(stored.key)
    attachment = TenderAttachment(
        tender_id=tender.id,
        filename=stored.filename,
        storage_key=stored.key,
        content_type=stored.content_type,
        size=stored.size,
    )
    db.session.add(attachment)
    db.session.flush()
    audit.record(
        "tender.attachment_added",
        organisation_id=tender.opco_id,
        actor=actor,
        obj=tender,
        data={"filename": stored.filename, "size": stored.size},
    )
    return attachment


def remove_attachment(attachment: TenderAttachment, actor: User | None) -> str:
    """Remove a file from a draft tender; its file is deleted once the removal is committed (key returned)."""
    tender = db.session.get(Tender, attachment.tender_id)
    if tender.status != T.DRAFT:
        raise DomainError(
            "Une pièce d'un appel d'offres publié ne peut plus être retirée : les organismes l'ont peut-être "
            "déjà téléchargée."
        )
    key = attachment.storage_key
    storage.delete_after_commit(key)
    db.session.delete(attachment)
    audit.record(
        "tender.attachment_removed",
        organisation_id=tender.opco_id,
        actor=actor,
        obj=tender,
        data={"filename": attachment.filename},
    )
    return key


def read_attachment(attachment: TenderAttachment) -> bytes:
    return storage.storage().read(attachment.storage_key)


# --- States -----------------------------------------------------------------------------------------


def publish_problems(tender: Tender, now: datetime) -> list[str]:
    """Why the tender cannot be published now (French sentences, empty when it can)."""
    problems = []
    if not tender.lots:
        problems.append("Décrivez au moins un lot.")
    if not tender.criteria:
        problems.append("Indiquez au moins un critère d'évaluation.")
    else:
        problem = weights_problem([c.weight for c in tender.criteria])
        if problem:
            problems.append(problem)
    if not (tender.specification or "").strip():
        problems.append("Rédigez le cahier des charges.")
    q, s = tender.questions_deadline, tender.submission_deadline
    if q is None:
        problems.append("Fixez la date limite des questions.")
    elif q <= now:
        problems.append(
            f"La date limite des questions ({datetime_fr(q)}) est passée : choisissez une date à venir."
        )
    if s is None:
        problems.append("Fixez la date limite de dépôt des réponses.")
    elif s <= now:
        problems.append(
            f"La date limite de dépôt ({datetime_fr(s)}) est passée : choisissez une date à venir."
        )
    if q and s and q > s:
        problems.append("La date limite des questions doit précéder la date limite de dépôt des réponses.")
    if tender.expected_award_date is None:
        problems.append("Indiquez la date d'attribution prévue.")
    elif s and tender.expected_award_date <= to_paris(s).date():
        problems.append("La date d'attribution prévue doit être postérieure à la date limite de dépôt.")
    return problems


def publish(tender: Tender, actor: User | None, now: datetime | None = None) -> None:
    """Publish a complete draft: every training organisation of the platform can then read it and answer."""
    now = now or utcnow()
    if TENDER.can(tender.status, "publish"):
        problems = publish_problems(tender, now)
        if problems:
            raise DomainError("Publication impossible. " + " ".join(problems))
    tender_transition(tender, "publish", actor)
    tender.published_at = now


def _close(tender: Tender, now: datetime) -> None:
    tender_transition(tender, "close", None, reason="Date limite de dépôt atteinte")
    tender.closed_at = now


def close_due_tenders(now: datetime | None = None) -> int:
    """Close every published tender whose submission deadline has come; returns how many were closed."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Tender)
        .where(Tender.status == T.PUBLISHED, Tender.submission_deadline <= now)
        .order_by(Tender.id)
        .with_for_update(of=Tender, skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    for tender in due:
        _close(tender, now)
    return len(due)


def refresh_status(tender: Tender, now: datetime | None = None) -> bool:
    """Write down the close of a tender whose deadline has come, for a POST that needs the stored status (the
    ``close`` transition must precede ``start_analysis``); True if it closed it. Never called on a read.

    The tender's row is locked first (bounded by ``lock_timeout``: « réessayez » when busy) and read again, so
    two requests arriving together close it only once.
    """
    now = now or utcnow()
    if effective_status(tender, now) != T.CLOSED or tender.status != T.PUBLISHED:
        return False
    lock_row(Tender.__table__, tender.id)
    db.session.refresh(tender)
    if tender.status != T.PUBLISHED:
        return False
    _close(tender, now)
    return True


def start_analysis(tender: Tender, actor: User | None, now: datetime | None = None) -> None:
    """Open the analysis of a closed tender (closing it first if its deadline has just passed)."""
    refresh_status(tender, now)
    tender_transition(tender, "start_analysis", actor)


def declare_unsuccessful(tender: Tender, actor: User | None, reason: str) -> None:
    """End a closed or analysed tender without winner (« infructueux »), with the reason; its lots too."""
    refuse_control(reason, "reason")
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("Indiquez pourquoi l'appel d'offres est déclaré infructueux.", field="reason")
    if len(reason) > 500:
        raise DomainError("Le motif ne peut pas dépasser 500 caractères.", field="reason")
    refresh_status(tender)
    tender_transition(tender, "declare_unsuccessful", actor, reason=reason)
    for lot in tender.lots:
        if lot.status == "open":
            lot.status = "unsuccessful"


def response_counts(tender: Tender) -> dict[int, int]:
    """Number of responses received per lot (submitted and later; never drafts nor withdrawn ones)."""
    return dict(
        db.session.execute(
            select(TenderResponse.lot_id, func.count(TenderResponse.id))
            .where(TenderResponse.tender_id == tender.id, TenderResponse.status.in_(RECEIVED))
            .group_by(TenderResponse.lot_id)
        ).all()
    )
