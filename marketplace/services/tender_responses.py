"""A training organisation's response to one lot of a call for tenders: drafting, documents, submission and
withdrawal.

Rules held here:

- One response per lot and organisation (unique constraint). It is started (a draft) on its first save,
  only while the tender is published and before its submission deadline.
- A response is edited (fields and documents) only as a draft or after a withdrawal, and only before the
  deadline; a submitted response is read-only until it is withdrawn.
- Submitting needs every field filled, the price per trainee within the lot's maximum and every document the
  tender requires; it is refused after the deadline even when nobody has closed the tender yet (the clock is
  compared with ``submission_deadline``, not with the tender's status). The organisation receives an
  acknowledgement (« accusé de dépôt ») with the timestamp.

States change only through ``tender_states.response_transition``; times are naive UTC (``now``).

Split by sub-domain to keep each module under 500 lines: reading the responses (visible lots, the
organisation's own response, who may read the documents, the status and result shown, « Mes réponses ») is in
``tender_response_reads``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.formatting import datetime_fr, money_fr, to_paris
from marketplace.models import (
    ResponseDocument,
    ResponseStatus,
    Tender,
    TenderDocumentKind,
    TenderLot,
    TenderResponse,
    TenderStatus,
    TrainingProvider,
    User,
)
from marketplace.services import audit, outbox, storage
from marketplace.services.action_input import MAX_DURATION_HOURS
from marketplace.services.errors import DomainError
from marketplace.services.tender_inputs import euros, refuse_control
from marketplace.services.tender_response_reads import find_response
from marketplace.services.tender_states import response_transition
from marketplace.services.tenders import deadline_passed

R = ResponseStatus

EDITABLE = (R.DRAFT, R.WITHDRAWN)
MAX_TEXT = 20_000
MAX_DOCUMENTS = 30

# Fields required to submit: column -> French name in the « complétez … » message.
REQUIRED_FIELDS = {
    "price_per_trainee_cents": "le prix par stagiaire",
    "duration_hours": "la durée proposée",
    "programme": "le programme proposé",
    "team": "l'équipe pédagogique",
}
LOCKED_MESSAGE = (
    "Une réponse déposée ne peut plus être modifiée : retirez-la pour la modifier, avant la date limite."
)


@dataclass(frozen=True)
class ResponseInput:
    """What the organisation types: euros as text (« 1 150,00 »), hours, free text."""

    price_per_trainee: str | None = ""
    price_per_group: str | None = ""
    duration_hours: str | int | None = ""
    programme: str | None = ""
    team: str | None = ""


# --- Formatting -----------------------------------------------------------------------------------------


def submitted_label(value: datetime | None) -> str:
    """« 03/02/2026 à 14 h 05 » in Paris time (the acknowledgement's timestamp)."""
    if value is None:
        return ""
    local = to_paris(value)
    return f"{local:%d/%m/%Y} à {local:%H} h {local:%M}"


def kind_label(kind: str) -> str:
    return TenderDocumentKind.LABELS.get(kind, kind)


# --- Starting and editing -------------------------------------------------------------------------------


def _check_open(tender: Tender, now: datetime) -> None:
    """Responses may be started, changed, submitted or withdrawn only before the deadline of a published tender."""
    if tender.submission_deadline is None:
        raise DomainError(
            "Cet appel d'offres n'a pas de date limite de dépôt : il n'accepte pas de réponses."
        )
    if deadline_passed(tender, now):
        raise DomainError(
            f"La date limite de dépôt des réponses était le {datetime_fr(tender.submission_deadline)} "
            "(heure de Paris) : les réponses ne peuvent plus être déposées, modifiées ni retirées."
        )
    if tender.status != TenderStatus.PUBLISHED:
        raise DomainError(f"Cet appel d'offres n'accepte plus de réponses (état « {tender.status_label} »).")


def get_or_start(
    tender: Tender, lot: TenderLot, provider: TrainingProvider, actor: User | None, now: datetime
) -> TenderResponse:
    """The organisation's response to the lot; a new, unsaved draft when it has none yet.

    The draft is saved (and the row created) by its first ``save_draft`` or ``add_document``. Starting a
    response is possible only while the tender is published and before its submission deadline.
    """
    if lot.tender_id != tender.id:
        raise DomainError("Ce lot n'appartient pas à cet appel d'offres.")
    response = find_response(lot, provider)
    if response is not None:
        return response
    _check_open(tender, now)
    return TenderResponse(
        tender_id=tender.id,
        lot_id=lot.id,
        provider_id=provider.id,
        opco_id=tender.opco_id,
        status=R.DRAFT,
        programme="",
        team="",
        admissibility_checks={},
        tender=tender,
        lot=lot,
        provider=provider,
    )


def is_new(response: TenderResponse) -> bool:
    return response.id is None


def is_editable(response: TenderResponse, now: datetime) -> bool:
    return (
        response.status in EDITABLE
        and not deadline_passed(response.tender, now)
        and (response.tender.status == TenderStatus.PUBLISHED)
    )


def can_withdraw(response: TenderResponse, now: datetime) -> bool:
    return (
        response.status == R.SUBMITTED
        and not deadline_passed(response.tender, now)
        and (response.tender.status == TenderStatus.PUBLISHED)
    )


def _check_editable(response: TenderResponse, now: datetime) -> None:
    _check_open(response.tender, now)
    if response.status not in EDITABLE:
        raise DomainError(LOCKED_MESSAGE)


def _persist(response: TenderResponse, actor: User | None) -> None:
    """Create the row of a new draft; a concurrent first save of the same lot gets a French refusal."""
    if not is_new(response):
        return
    try:
        with db.session.begin_nested():
            db.session.add(response)
            db.session.flush()
    except IntegrityError:
        raise DomainError(
            "Votre organisme a déjà commencé une réponse à ce lot : rechargez la page pour la retrouver."
        ) from None
    audit.record(
        "tender_response.started",
        organisation_id=response.provider_id,
        actor=actor,
        obj=response,
        data={"tender_id": response.tender_id, "lot_id": response.lot_id},
    )


# --- Parsing ----------------------------------------------------------------------------------------------


def _text(value, field: str | None = None) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    refuse_control(text, field)
    return text


def _parse_hours(value) -> int | None:
    text = _text(value, "duration_hours")
    if not text:
        return None
    if len(text) > 12:
        raise DomainError(
            "La durée doit être un nombre entier d'heures, par exemple 14.", field="duration_hours"
        )
    text = re.sub(r"\s*(h|heures?)$", "", text, flags=re.I)
    if not (text.isdigit() and text.isascii()):
        raise DomainError(
            "La durée doit être un nombre entier d'heures, par exemple 14.", field="duration_hours"
        )
    hours = int(text)
    if hours <= 0:
        raise DomainError("La durée doit être d'au moins une heure.", field="duration_hours")
    if hours > MAX_DURATION_HOURS:
        raise DomainError(
            f"La durée ne peut pas dépasser {MAX_DURATION_HOURS} heures.", field="duration_hours"
        )
    return hours


def _check_max_price(lot: TenderLot, cents: int | None) -> None:
    if cents is not None and cents > lot.max_price_cents:
        raise DomainError(
            f"Le prix par stagiaire ({money_fr(cents, 'HT')}) dépasse le prix maximum du lot "
            f"({money_fr(lot.max_price_cents, 'HT')}).",
            field="price_per_trainee",
        )


def _parsed(lot: TenderLot, data: ResponseInput) -> dict:
    """The input as column values; empty fields stay empty (a draft may be incomplete)."""
    trainee = _text(data.price_per_trainee, "price_per_trainee")
    group = _text(data.price_per_group, "price_per_group")
    values = {
        "price_per_trainee_cents": (
            euros(trainee, "price_per_trainee", "Le prix par stagiaire") if trainee else None
        ),
        "price_per_group_cents": euros(group, "price_per_group", "Le prix par groupe") if group else None,
        "duration_hours": _parse_hours(data.duration_hours),
        "programme": _text(data.programme, "programme"),
        "team": _text(data.team, "team"),
    }
    _check_max_price(lot, values["price_per_trainee_cents"])
    for name, label in (("programme", "Le programme"), ("team", "La présentation de l'équipe")):
        if len(values[name]) > MAX_TEXT:
            raise DomainError(
                f"{label} ne peut pas dépasser {MAX_TEXT:,} caractères.".replace(",", "\u202f"), field=name
            )
    return values


# --- Draft ------------------------------------------------------------------------------------------------


def save_draft(
    response: TenderResponse, data: ResponseInput, actor: User | None, now: datetime
) -> TenderResponse:
    """Save what was typed, complete or not, on a draft (or withdrawn) response before the deadline."""
    _check_editable(response, now)
    values = _parsed(response.lot, data)
    _persist(response, actor)
    changed = sorted(name for name, value in values.items() if getattr(response, name) != value)
    for name, value in values.items():
        setattr(response, name, value)
    if changed:
        audit.record(
            "tender_response.draft_saved",
            organisation_id=response.provider_id,
            actor=actor,
            obj=response,
            data={"fields": changed},
        )
    return response


def save(
    tender: Tender,
    lot: TenderLot,
    provider: TrainingProvider,
    data: ResponseInput,
    actor: User | None,
    now: datetime,
) -> TenderResponse:
    """« Enregistrer le brouillon »: the organisation's response to the lot, started if need be, then saved."""
    return save_draft(get_or_start(tender, lot, provider, actor, now), data, actor, now)


def submission_problem(response: TenderResponse) -> str | None:
    """What still keeps a saved response from being submitted (French), or None when it can be."""
    try:
        check_complete(response)
    except DomainError as error:
        return error.message
    return None


# --- Documents --------------------------------------------------------------------------------------------


def add_document(
    response: TenderResponse, kind: str, filename: str, data: bytes, actor: User | None, now: datetime
) -> ResponseDocument:
    """Attach a checked file (PDF, DOCX, XLSX, ODT, within the size limit) to an editable response.

    Every rule is checked before the file is written; a refused file leaves nothing behind, and a file whose
    transaction rolls back is deleted.
    """
    _check_editable(response, now)
    if kind not in TenderDocumentKind.LABELS:
        raise DomainError("Choisissez le type de document dans la liste.", field="kind")
    if not is_new(response) and len(response.documents) >= MAX_DOCUMENTS:
        raise DomainError(
            f"Une réponse compte au plus {MAX_DOCUMENTS} documents : retirez-en un avant d'en ajouter.",
            field="file",
        )
    storage.check_upload(filename, data)
    _persist(response, actor)
    stored = storage.store(filename, data)
    storage.discard_if_rolled_back(stored.key)
    document = ResponseDocument(
        kind=kind,
        filename=stored.filename,
        storage_key=stored.key,
        content_type=stored.content_type,
        size=stored.size,
    )
    response.documents.append(document)
    db.session.flush()
    audit.record(
        "tender_response.document_added",
        organisation_id=response.provider_id,
        actor=actor,
        obj=response,
        data={"document_id": document.id, "kind": kind, "filename": stored.filename, "size": stored.size},
    )
    return document


def upload(
    tender: Tender,
    lot: TenderLot,
    provider: TrainingProvider,
    kind: str,
    filename: str,
    data: bytes,
    actor: User | None,
    now: datetime,
) -> ResponseDocument:
    """Attach a document to the organisation's response to the lot (started if need be)."""
    return add_document(get_or_start(tender, lot, provider, actor, now), kind, filename, data, actor, now)


def remove_document(document: ResponseDocument, actor: User | None, now: datetime) -> None:
    """Remove a document from an editable response; its file is deleted once the removal is committed."""
    response = document.response
    _check_editable(response, now)
    audit.record(
        "tender_response.document_removed",
        organisation_id=response.provider_id,
        actor=actor,
        obj=response,
        data={"document_id": document.id, "kind": document.kind, "filename": document.filename},
    )
    storage.delete_after_commit(document.storage_key)
    response.documents.remove(document)
    db.session.flush()


def missing_documents(response: TenderResponse) -> list[str]:
    """Codes of the documents the tender requires that the response does not have yet."""
    attached = {d.kind for d in response.documents}
    return [kind for kind in response.tender.required_documents or [] if kind not in attached]


def missing_fields(response: TenderResponse) -> list[str]:
    """Columns still empty among those a submitted response must have."""
    return [name for name in REQUIRED_FIELDS if getattr(response, name) in (None, "")]


def check_complete(response: TenderResponse) -> None:
    """Refuse, with the French list of what is missing, a response that cannot be submitted as it is."""
    fields = [REQUIRED_FIELDS[name] for name in missing_fields(response)]
    documents = [kind_label(kind) for kind in missing_documents(response)]
    parts = []
    if fields:
        parts.append("complétez " + _join_fr(fields))
    if documents:
        parts.append("joignez " + _join_fr([f"« {d} »" for d in documents]))
    if parts:
        raise DomainError("Avant de déposer votre réponse, " + " et ".join(parts) + ".")
    _check_max_price(response.lot, response.price_per_trainee_cents)


def _join_fr(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


# --- Submit and withdraw ------------------------------------------------------------------------------------


def submit(response: TenderResponse, actor: User | None, now: datetime) -> TenderResponse:
    """Submit before the deadline a complete response (timestamped, then read-only); acknowledge by email."""
    _check_open(response.tender, now)
    if response.status not in EDITABLE:
        raise DomainError(
            "Cette réponse est déjà déposée." if response.status == R.SUBMITTED else LOCKED_MESSAGE
        )
    if is_new(response):
        raise DomainError("Enregistrez d'abord votre réponse avant de la déposer.")
    check_complete(response)
    response_transition(response, "submit", actor)
    response.submitted_at = now
    if actor is not None:
        tender = response.tender
        outbox.queue_email(
            actor.email,
            "tender_response_submitted",
            organisation_id=response.provider_id,
            response=response,
            tender=tender,
            lot=response.lot,
            provider=response.provider,
            user=actor,
            submitted=submitted_label(now),
            deadline=datetime_fr(tender.submission_deadline),
            documents=[(kind_label(d.kind), d.filename) for d in response.documents],
        )
    return response


def withdraw(response: TenderResponse, actor: User | None, now: datetime) -> TenderResponse:
    """Withdraw a submitted response before the deadline: it becomes editable and may be submitted again."""
    _check_open(response.tender, now)
    response_transition(response, "withdraw", actor)
    response.submitted_at = None
    return response
