"""Calls for tenders on the OPCO's side (build, publish, close, analyse) and what training organisations read.

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
- Questions are private to the organisation asking until the question deadline; the OPCO answers, and a
  published answer is shown to every organisation, never with the asker's identity.
- Training organisations see published (and later) tenders of every OPCO, never drafts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import case, exists, false, func, or_, select

from marketplace.extensions import db
from marketplace.formatting import (  # noqa: F401
    PARIS,
    date_fr,
    datetime_fr,
    paris_to_utc,
    paris_today,
    to_paris,
    utc_to_paris,
)
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Opco,
    Region,
    ResponseStatus,
    Tender,
    TenderAttachment,
    TenderCriterion,
    TenderDocumentKind,
    TenderLot,
    TenderQuestion,
    TenderResponse,
    TenderStatus,
    Theme,
    TrainingProvider,
    User,
    utcnow,
)
from marketplace.models.limits import LONG_TEXT, too_long
from marketplace.services import audit, outbox, storage
from marketplace.services.catalogue import parse_euros
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.locking import lock_row
from marketplace.services.pagination import Page, paginate
from marketplace.services.tender_states import (
    TENDER,
    effective_status,
    effective_status_sql,
    tender_transition,
)
from marketplace.services.text import has_control

T = TenderStatus

MAX_LOTS = 30
MAX_CRITERIA = 12
MAX_QUESTION_LENGTH = 3000
MAX_ANSWER_LENGTH = 6000
PER_PAGE = 20
# Responses that count as received by the OPCO (drafts and withdrawn ones do not).
RECEIVED = (
    ResponseStatus.SUBMITTED,
    ResponseStatus.ADMISSIBLE,
    ResponseStatus.INADMISSIBLE,
    ResponseStatus.RETAINED,
    ResponseStatus.NOT_RETAINED,
)
MAX_LONG_TEXT = LONG_TEXT  # context, specification: the columns' bound (models/limits.py)
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
CONTROL_MESSAGE = "Ce texte contient des caractères invisibles non autorisés : retirez-les puis réessayez."
# Deadlines typed beyond these years are mistakes (and would overflow when converted to UTC).
FIRST_YEAR, LAST_YEAR = 2000, 2100


def refuse_control(text, field: str | None = None) -> None:
    """Refuse a free text carrying control characters (the database would refuse a NUL)."""
    if has_control(text):
        raise DomainError(CONTROL_MESSAGE, field=field)


def euros(value, field_name: str, label: str) -> int:
    """``catalogue.parse_euros`` on a typed amount of a reasonable length (a huge number is refused)."""
    if isinstance(value, str) and len(value) > 20:
        raise DomainError(f"{label} doit être un montant en euros, par exemple 1 200,50.", field=field_name)
    return parse_euros(value, field_name, label)


class InvalidTender(InvalidForm):
    """Several fields of the tender form are wrong; ``errors`` maps field name → French message.

    Field names: ``title``, ``reference``…, ``lots`` / ``criteria`` for the whole table, and
    ``lots-<i>-<name>`` / ``criteria-<i>-<name>`` for a cell, ``i`` being the index in the list given.
    """


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


# --- Input ------------------------------------------------------------------------------------------


@dataclass
class LotInput:
    """A lot as typed; numbers may be French text. ``region_code`` None or empty: national."""

    title: str
    theme_code: str
    region_code: str | None = None
    expected_sessions: str | int | None = 1
    expected_trainees: str | int | None = 10
    max_price: str | int | Decimal | None = None  # euros HT per trainee, « 1 200,50 »
    duration_hours: str | int | None = None
    action_id: str | int | None = None  # an action of this OPCO the winners will be referenced on


@dataclass
class CriterionInput:
    label: str
    weight: str | int | None


@dataclass
class TenderInput:
    """What OPCO staff type for a tender; deadlines are naive Europe/Paris datetimes."""

    title: str
    reference: str
    context: str = ""
    specification: str = ""
    questions_deadline: datetime | None = None
    submission_deadline: datetime | None = None
    expected_award_date: date | None = None
    multi_award: bool = False
    required_documents: list[str] = field(default_factory=list)
    lots: list[LotInput] = field(default_factory=list)
    criteria: list[CriterionInput] = field(default_factory=list)


@dataclass(frozen=True)
class _CleanLot:
    title: str
    theme_code: str
    region_code: str | None
    expected_sessions: int
    expected_trainees: int
    max_price_cents: int
    duration_hours: int | None
    action_id: int | None


@dataclass(frozen=True)
class _CleanTender:
    title: str
    reference: str
    context: str
    specification: str
    questions_deadline: datetime | None  # UTC
    submission_deadline: datetime | None  # UTC
    expected_award_date: date | None
    multi_award: bool
    required_documents: list[str]
    lots: list[_CleanLot]
    criteria: list[tuple[str, int]]


def _int_or_none(value) -> int | None | str:
    """Whole number from text (« 1 200 »); None when empty; the string "invalid" when not a whole number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "invalid"
    if isinstance(value, int):
        return value
    text = _SPACES.sub("", str(value))
    if not text:
        return None
    return int(text) if text.isdigit() and text.isascii() and len(text) <= 9 else "invalid"


def weights_problem(weights: list[int]) -> str | None:
    """The French refusal when the weights do not total exactly 100, else None."""
    total = sum(weights)
    if total != 100:
        return f"Les pondérations des critères totalisent {total} : elles doivent totaliser 100."
    return None


def _clean(opco: Opco, data: TenderInput, tender: Tender | None) -> _CleanTender:
    """Validate every field, collecting all the errors so the form shows them at once."""
    errors: dict[str, str] = {}
    texts = {
        "title": data.title,
        "reference": data.reference,
        "context": data.context,
        "specification": data.specification,
    }
    texts.update({f"lots-{i}-title": lot.title for i, lot in enumerate(data.lots or [])})
    texts.update({f"criteria-{i}-label": c.label for i, c in enumerate(data.criteria or [])})
    for name, value in texts.items():
        if has_control(value):
            errors[name] = CONTROL_MESSAGE
    if errors:
        raise InvalidTender(errors)
    for name, label in (("context", "Le contexte"), ("specification", "Le cahier des charges")):
        if len(texts[name] or "") > MAX_LONG_TEXT:
            errors[name] = f"{label} ne peut pas dépasser {MAX_LONG_TEXT:,} caractères.".replace(
                ",", "\u202f"
            )

    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = "Indiquez l'intitulé de l'appel d'offres."
    elif len(title) > 200:
        errors["title"] = "L'intitulé ne peut pas dépasser 200 caractères."

    reference = " ".join((data.reference or "").split())
    if not reference:
        errors["reference"] = "Indiquez la référence de l'appel d'offres (par exemple AO-2026-03)."
    elif len(reference) > 40:
        errors["reference"] = "La référence ne peut pas dépasser 40 caractères."
    else:
        query = select(Tender.id).where(
            Tender.opco_id == opco.id, func.lower(Tender.reference) == reference.lower()
        )
        if tender is not None:
            query = query.where(Tender.id != tender.id)
        if db.session.scalar(query) is not None:
            errors["reference"] = (
                f"La référence « {reference} » est déjà utilisée par un autre de vos appels d'offres."
            )

    for name in ("questions_deadline", "submission_deadline", "expected_award_date"):
        value = getattr(data, name)
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            errors[name] = f"Indiquez une date entre {FIRST_YEAR} et {LAST_YEAR}."
    if any(name in errors for name in ("questions_deadline", "submission_deadline", "expected_award_date")):
        raise InvalidTender(errors)
    questions = paris_to_utc(data.questions_deadline) if data.questions_deadline else None
    submission = paris_to_utc(data.submission_deadline) if data.submission_deadline else None
    if questions and submission and questions > submission:
        errors["questions_deadline"] = (
            "La date limite des questions doit précéder la date limite de dépôt des réponses."
        )
    if data.expected_award_date and submission and data.expected_award_date <= to_paris(submission).date():
        errors["expected_award_date"] = (
            f"La date d'attribution prévue doit être postérieure à la date limite de dépôt ({date_fr(submission)})."
        )

    documents = [code for code in dict.fromkeys(data.required_documents or []) if code]
    unknown = [code for code in documents if code not in TenderDocumentKind.LABELS]
    if unknown:
        errors["required_documents"] = "Un des documents cochés n'existe pas."

    # Lots.
    lots: list[_CleanLot] = []
    if not data.lots:
        errors["lots"] = "Décrivez au moins un lot (intitulé, thème, prix maximum)."
    elif len(data.lots) > MAX_LOTS:
        errors["lots"] = f"Un appel d'offres compte au plus {MAX_LOTS} lots."
    themes = set(db.session.scalars(select(Theme.code)))
    regions = set(db.session.scalars(select(Region.code)))
    action_ids = {
        a_id: status
        for a_id, status in db.session.execute(
            select(CollectiveAction.id, CollectiveAction.status).where(CollectiveAction.opco_id == opco.id)
        )
    }
    for i, lot in enumerate(data.lots or []):
        prefix = f"lots-{i}-"
        n = i + 1
        lot_title = " ".join((lot.title or "").split())
        if not lot_title:
            errors[prefix + "title"] = f"Lot {n} : indiquez l'intitulé du lot."
        elif len(lot_title) > 200:
            errors[prefix + "title"] = f"Lot {n} : l'intitulé ne peut pas dépasser 200 caractères."
        if lot.theme_code not in themes:
            errors[prefix + "theme_code"] = f"Lot {n} : choisissez un thème dans la liste."
        region_code = lot.region_code or None
        if region_code is not None and region_code not in regions:
            errors[prefix + "region_code"] = (
                f"Lot {n} : choisissez une région dans la liste, ou « National »."
            )
        sessions_count = _int_or_none(lot.expected_sessions)
        if sessions_count in (None, "invalid") or not 1 <= sessions_count <= 9999:
            errors[prefix + "expected_sessions"] = (
                f"Lot {n} : le nombre de sessions prévues doit être un nombre entier de 1 à 9 999."
            )
        trainees = _int_or_none(lot.expected_trainees)
        if trainees in (None, "invalid") or not 1 <= trainees <= 99_999:
            errors[prefix + "expected_trainees"] = (
                f"Lot {n} : le nombre de stagiaires prévus doit être un nombre entier de 1 à 99 999."
            )
        price = None
        try:
            price = euros(lot.max_price, prefix + "max_price", f"Lot {n} : le prix maximum par stagiaire")
        except DomainError as error:
            errors[prefix + "max_price"] = error.message
        duration = _int_or_none(lot.duration_hours)
        if duration == "invalid" or (duration is not None and not 1 <= duration <= 2000):
            errors[prefix + "duration_hours"] = (
                f"Lot {n} : la durée doit être un nombre entier d'heures, de 1 à 2 000."
            )
        action_id = _int_or_none(lot.action_id)
        if action_id == "invalid" or (action_id is not None and action_id not in action_ids):
            errors[prefix + "action_id"] = f"Lot {n} : choisissez une action collective de votre catalogue."
        elif action_id is not None and action_ids[action_id] == ActionStatus.ARCHIVED:
            errors[prefix + "action_id"] = (
                f"Lot {n} : cette action collective est archivée ; choisissez-en une autre."
            )
        if not any(k.startswith(prefix) for k in errors):
            lots.append(
                _CleanLot(
                    lot_title,
                    lot.theme_code,
                    region_code,
                    sessions_count,
                    trainees,
                    price,
                    duration,
                    action_id,
                )
            )

    # Criteria.
    criteria: list[tuple[str, int]] = []
    if not data.criteria:
        errors["criteria"] = "Indiquez au moins un critère d'évaluation, avec sa pondération."
    elif len(data.criteria) > MAX_CRITERIA:
        errors["criteria"] = f"Un appel d'offres compte au plus {MAX_CRITERIA} critères."
    seen: set[str] = set()
    weights_ok = True
    for i, criterion in enumerate(data.criteria or []):
        prefix = f"criteria-{i}-"
        n = i + 1
        label = " ".join((criterion.label or "").split())
        if not label:
            errors[prefix + "label"] = f"Critère {n} : indiquez son libellé."
        elif len(label) > 200:
            errors[prefix + "label"] = f"Critère {n} : le libellé ne peut pas dépasser 200 caractères."
        elif label.lower() in seen:
            errors[prefix + "label"] = f"Critère {n} : « {label} » figure déjà dans la liste."
        seen.add(label.lower())
        weight = _int_or_none(criterion.weight)
        if weight in (None, "invalid") or not 1 <= weight <= 100:
            errors[prefix + "weight"] = f"Critère {n} : la pondération doit être un nombre entier de 1 à 100."
            weights_ok = False
        else:
            criteria.append((label, weight))
    if data.criteria and weights_ok and "criteria" not in errors:
        problem = weights_problem([w for _, w in criteria])
        if problem:
            errors["criteria"] = problem

    for name in ("context", "specification"):
        if len((getattr(data, name) or "").strip()) > LONG_TEXT:
            errors[name] = too_long(LONG_TEXT)

    if errors:
        raise InvalidTender(errors)
    return _CleanTender(
        title=title,
        reference=reference,
        context=(data.context or "").strip(),
        specification=(data.specification or "").strip(),
        questions_deadline=questions,
        submission_deadline=submission,
        expected_award_date=data.expected_award_date,
        multi_award=bool(data.multi_award),
        required_documents=documents,
        lots=lots,
        criteria=criteria,
    )


def _apply(tender: Tender, clean: _CleanTender) -> None:
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
        setattr(tender, name, getattr(clean, name))
    tender.required_documents = list(clean.required_documents)
    # Rows are updated in place, then added or removed at the end: a replaced lot would collide with its
    # own (tender, number) unique constraint, since the unit of work inserts before it deletes.
    for number, lot in enumerate(clean.lots, start=1):
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
    del tender.lots[len(clean.lots) :]
    for position, (label, weight) in enumerate(clean.criteria):
        if position < len(tender.criteria):
            row = tender.criteria[position]
        else:
            row = TenderCriterion()
            tender.criteria.append(row)
        row.position, row.label, row.weight = position, label, weight
    del tender.criteria[len(clean.criteria) :]


def create_tender(opco: Opco, data: TenderInput, actor: User | None, now: datetime | None = None) -> Tender:
    """Create a draft tender after validating every field (InvalidTender lists all the errors)."""
    clean = _clean(opco, data, None)
    tender = Tender(opco_id=opco.id, status=T.DRAFT, reference=clean.reference, title=clean.title)
    db.session.add(tender)
    _apply(tender, clean)
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
    clean = _clean(opco, data, tender)
    _apply(tender, clean)
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


def status_counts(opco_id: int, now: datetime | None = None) -> dict[str, int]:
    """Number of the OPCO's tenders per status, as they are at ``now`` (a tender past its deadline is closed)."""
    shown = effective_status_sql(now or utcnow())
    return dict(
        db.session.execute(
            select(shown, func.count(Tender.id)).where(Tender.opco_id == opco_id).group_by(shown)
        ).all()
    )


def opco_tenders(opco_id: int, status: str = "", now: datetime | None = None) -> list[Tender]:
    """The OPCO's tenders, drafts first, then the open ones, then the others, latest deadline first; ``status``
    filters on the status at ``now`` (a published tender past its deadline is listed as closed)."""
    shown = effective_status_sql(now or utcnow())
    query = select(Tender).where(Tender.opco_id == opco_id)
    if status:
        query = query.where(shown == status)
    order = case((shown == T.DRAFT, 0), (shown == T.PUBLISHED, 1), else_=2)
    return list(
        db.session.scalars(query.order_by(order, Tender.submission_deadline.desc(), Tender.id.desc()))
    )


# --- Questions and answers --------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicAnswer:
    """A published question and its answer, without who asked."""

    question: str
    answer: str
    answered_at: datetime | None


def ask_question(
    tender: Tender, provider: TrainingProvider, actor: User | None, text: str, now: datetime | None = None
) -> TenderQuestion:
    """A training organisation asks a private question, while the tender is published and until the question
    deadline."""
    now = now or utcnow()
    status = effective_status(tender, now)
    if status != T.PUBLISHED:
        raise DomainError(
            f"Les questions ne sont plus possibles : l'appel d'offres est « {T.LABELS[status]} ».",
            field="question",
        )
    if tender.questions_deadline is not None and tender.questions_deadline < now:
        raise DomainError(
            f"La date limite des questions est passée ({datetime_fr(tender.questions_deadline)}) : "
            "vous ne pouvez plus poser de question.",
            field="question",
        )
    text = (text or "").strip()
    refuse_control(text, "question")
    if not text:
        raise DomainError("Écrivez votre question.", field="question")
    if len(text) > MAX_QUESTION_LENGTH:
        raise DomainError(
            f"La question ne peut pas dépasser {MAX_QUESTION_LENGTH} caractères.", field="question"
        )
    question = TenderQuestion(
        tender_id=tender.id, provider_id=provider.id, asked_by_id=actor.id if actor else None, question=text
    )
    db.session.add(question)
    db.session.flush()
    audit.record(
        "tender.question_asked",
        organisation_id=provider.id,
        actor=actor,
        obj=question,
        data={"tender_id": tender.id, "reference": tender.reference},
    )
    return question


def answer_question(
    question: TenderQuestion, actor: User | None, answer: str, publish: bool, now: datetime | None = None
) -> None:
    """The OPCO answers (or corrects its answer) while the tender is published; ``publish`` shows it to every
    organisation, without the asker. The asker is told by email of the first answer."""
    now = now or utcnow()
    tender = db.session.get(Tender, question.tender_id)
    status = effective_status(tender, now)
    if status != T.PUBLISHED:
        raise DomainError(
            f"L'appel d'offres est « {T.LABELS[status]} » : les réponses aux questions ne peuvent plus être "
            "modifiées.",
            field="answer",
        )
    answer = (answer or "").strip()
    refuse_control(answer, "answer")
    if not answer:
        raise DomainError("Écrivez la réponse.", field="answer")
    if len(answer) > MAX_ANSWER_LENGTH:
        raise DomainError(f"La réponse ne peut pas dépasser {MAX_ANSWER_LENGTH} caractères.", field="answer")
    first = question.answered_at is None
    question.answer = answer
    question.answered_at = now
    question.answered_by_id = actor.id if actor else None
    question.is_published = bool(publish)
    audit.record(
        "tender.question_answered",
        organisation_id=tender.opco_id,
        actor=actor,
        obj=question,
        data={"tender_id": tender.id, "published": bool(publish), "first": first},
    )
    if first and question.asked_by_id:
        asker = db.session.get(User, question.asked_by_id)
        if asker is not None:
            outbox.queue_email(
                asker.email,
                "tender_question_answered",
                organisation_id=question.provider_id,
                tender=tender,
                question=question,
                provider=db.session.get(TrainingProvider, question.provider_id),
            )


def public_answers(tender: Tender) -> list[PublicAnswer]:
    """Published answers, oldest first, without the asker's identity."""
    rows = db.session.execute(
        select(TenderQuestion.question, TenderQuestion.answer, TenderQuestion.answered_at)
        .where(
            TenderQuestion.tender_id == tender.id,
            TenderQuestion.is_published.is_(True),
            TenderQuestion.answer.is_not(None),
        )
        .order_by(TenderQuestion.answered_at, TenderQuestion.id)
    ).all()
    return [PublicAnswer(q, a, at) for q, a, at in rows]


def provider_questions(tender: Tender, provider: TrainingProvider) -> list[TenderQuestion]:
    """The organisation's own questions on this tender, with their answer when there is one."""
    return list(
        db.session.scalars(
            select(TenderQuestion)
            .where(TenderQuestion.tender_id == tender.id, TenderQuestion.provider_id == provider.id)
            .order_by(TenderQuestion.created_at, TenderQuestion.id)
        )
    )


def opco_questions(tender: Tender) -> list[tuple[TenderQuestion, str]]:
    """Every question on the tender with the asking organisation's name (for the OPCO), unanswered first."""
    rows = db.session.execute(
        select(TenderQuestion, TrainingProvider.name)
        .join(TrainingProvider, TrainingProvider.id == TenderQuestion.provider_id)
        .where(TenderQuestion.tender_id == tender.id)
        .order_by(TenderQuestion.answered_at.is_not(None), TenderQuestion.created_at, TenderQuestion.id)
    ).all()
    return [(q, name) for q, name in rows]


def question_state(question: TenderQuestion) -> str:
    if question.answer is None:
        return "En attente de réponse"
    if question.is_published:
        return "Réponse publiée pour tous les organismes"
    return "Répondue (réponse visible par vous seul)"


# --- What training organisations read ---------------------------------------------------------------


@dataclass
class TenderFilters:
    opco_id: int | None = None
    theme_code: str | None = None
    region_code: str | None = None  # lots in that region, and national lots
    deadline_before: date | None = None  # submission deadline on or before that day (Paris)
    only_open: bool = True
    page: int = 1


VISIBLE = (T.PUBLISHED, T.CLOSED, T.UNDER_ANALYSIS, T.AWARDED, T.UNSUCCESSFUL)


def published_tenders(
    filters: TenderFilters, now: datetime | None = None, per_page: int = PER_PAGE
) -> Page[Tender]:
    """Published (and later) tenders of every OPCO, filtered and paginated: a constant number of queries
    whatever the number of rows. Open ones first (soonest deadline first); a tender whose deadline has come is
    among the closed ones even before the stored status catches up."""
    now = now or utcnow()
    query = select(Tender).where(Tender.status.in_(VISIBLE))
    if filters.opco_id:
        # An id beyond the database's integers names no OPCO (and would overflow the query).
        query = query.where(
            Tender.opco_id == filters.opco_id if filters.opco_id <= 2_147_483_647 else false()
        )
    if filters.theme_code:
        query = query.where(
            exists().where(TenderLot.tender_id == Tender.id, TenderLot.theme_code == filters.theme_code)
        )
    if filters.region_code:
        query = query.where(
            exists().where(
                TenderLot.tender_id == Tender.id,
                or_(TenderLot.region_code == filters.region_code, TenderLot.region_code.is_(None)),
            )
        )
    if filters.deadline_before and filters.deadline_before < date(9999, 12, 30):  # beyond: filters nothing
        end_of_day = paris_to_utc(datetime.combine(filters.deadline_before + timedelta(days=1), time()))
        query = query.where(Tender.submission_deadline < end_of_day)
    shown = effective_status_sql(now)
    if filters.only_open:
        query = query.where(shown == T.PUBLISHED)
    open_first = case((shown == T.PUBLISHED, 0), else_=1)
    soonest_open = case((shown == T.PUBLISHED, Tender.submission_deadline))
    return paginate(
        query.order_by(open_first, soonest_open, Tender.submission_deadline.desc(), Tender.id),
        filters.page,
        per_page,
    )


def tender_for_provider(tender_id: int, now: datetime | None = None) -> Tender | None:
    """A tender any training organisation may read (published or later); None for a draft or an unknown id
    (answered as 404). Nothing is written: read its status through ``effective_status``."""
    return db.session.scalar(select(Tender).where(Tender.id == tender_id, Tender.status.in_(VISIBLE)))


def opcos_with_tenders() -> list[Opco]:
    """OPCOs having at least one visible tender (the OPCO filter of the providers' list)."""
    return list(
        db.session.scalars(
            select(Opco)
            .where(exists().where(Tender.opco_id == Opco.id, Tender.status.in_(VISIBLE)))
            .order_by(Opco.name)
        )
    )
