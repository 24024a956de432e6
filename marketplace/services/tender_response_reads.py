"""Reading the responses to a call for tenders: the lots a training organisation may see, its own response,
who may read a response's documents, the status and result shown to the organisation, « Mes réponses ».

Rules held here:

- Documents are readable by the responding organisation, and by the tender's OPCO once the deadline has
  passed (and only for responses that were submitted); never by anyone else.
- Until the tender is awarded or declared unsuccessful, the organisation sees a submitted response as
  « Déposée » (the OPCO's analysis stays internal); its result is shown once the tender is awarded.

Split by sub-domain from ``tender_responses`` (the organisation drafting, documenting, submitting and
withdrawing its response), which had grown past 500 lines; nothing here changes a response.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from marketplace.extensions import db
from marketplace.models import (
    Opco,
    ResponseDocument,
    ResponseStatus,
    Tender,
    TenderLot,
    TenderResponse,
    TenderStatus,
    TrainingProvider,
)
from marketplace.services import storage
from marketplace.services.tenders import deadline_passed

R = ResponseStatus

# States in which the OPCO may read a response (after the deadline): it was submitted and not withdrawn.
SUBMITTED_STATES = (R.SUBMITTED, R.ADMISSIBLE, R.INADMISSIBLE, R.RETAINED, R.NOT_RETAINED)
# Tender states in which the lots are visible to training organisations.
VISIBLE_TENDER_STATES = tuple(s for s in TenderStatus.LABELS if s != TenderStatus.DRAFT)


@dataclass(frozen=True)
class ResponseResult:
    """What the organisation learns once the tender is awarded."""

    retained: bool
    final_score: float | None
    rank: int | None
    reason: str | None = None  # inadmissibility reason, when the response was not evaluated

    @property
    def score_label(self) -> str:
        return score_fr(self.final_score)


@dataclass(frozen=True)
class ResponseSummary:
    response: TenderResponse
    tender: Tender
    lot: TenderLot
    status: str  # as the organisation sees it (see shown_status)
    status_label: str
    result: ResponseResult | None


# --- Formatting -----------------------------------------------------------------------------------------


def score_fr(value: float | None) -> str:
    """« 78,5 » (one decimal at most, French comma)."""
    if value is None:
        return ""
    rounded = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(rounded).removesuffix(".0").replace(".", ",")


# --- Loading ----------------------------------------------------------------------------------------------


def visible_lot(tender_id: int, lot_id: int) -> tuple[Tender, TenderLot] | None:
    """The lot of a tender every training organisation may see (published or later), or None (→ 404)."""
    lot = db.session.scalar(
        select(TenderLot)
        .join(Tender, TenderLot.tender_id == Tender.id)
        .where(TenderLot.id == lot_id, Tender.id == tender_id, Tender.status.in_(VISIBLE_TENDER_STATES))
    )
    if lot is None:
        return None
    return lot.tender, lot


def find_response(lot: TenderLot, provider: TrainingProvider) -> TenderResponse | None:
    """The organisation's own response to the lot, if it has one (never another organisation's)."""
    return db.session.scalar(
        select(TenderResponse).where(
            TenderResponse.lot_id == lot.id, TenderResponse.provider_id == provider.id
        )
    )


# --- Reading ------------------------------------------------------------------------------------------------


def readable_document(
    document_id: int, *, provider: TrainingProvider | None = None, opco: Opco | None = None, now: datetime
) -> ResponseDocument | None:
    """The document if ``provider`` wrote the response, or if ``opco`` owns the tender, the deadline has passed
    and the response was submitted; otherwise None (answer 404)."""
    document = db.session.scalar(
        select(ResponseDocument)
        .options(joinedload(ResponseDocument.response).joinedload(TenderResponse.tender))
        .where(ResponseDocument.id == document_id)
    )
    if document is None:
        return None
    response = document.response
    if provider is not None and response.provider_id == provider.id:
        return document
    if (
        opco is not None
        and response.opco_id == opco.id
        and response.tender.opco_id == opco.id
        and response.status in SUBMITTED_STATES
        and deadline_passed(response.tender, now)
    ):
        return document
    return None


def read_document(document: ResponseDocument) -> bytes:
    return storage.storage().read(document.storage_key)


def shown_status(response: TenderResponse) -> tuple[str, str]:
    """(status, French label) as the organisation sees it: the OPCO's analysis (admissibility…) stays internal
    until the tender is awarded or declared unsuccessful; until then a submitted response reads « Déposée »."""
    decided = response.tender.status in (TenderStatus.AWARDED, TenderStatus.UNSUCCESSFUL)
    if response.status in SUBMITTED_STATES and not decided:
        return R.SUBMITTED, R.LABELS[R.SUBMITTED]
    return response.status, response.status_label


def result_of(response: TenderResponse) -> ResponseResult | None:
    """The outcome shown to the organisation, once the tender is awarded (None before)."""
    if response.tender.status != TenderStatus.AWARDED:
        return None
    if response.status not in (R.RETAINED, R.NOT_RETAINED, R.INADMISSIBLE):
        return None
    return ResponseResult(
        retained=response.status == R.RETAINED,
        final_score=response.final_score,
        rank=response.rank,
        reason=response.admissibility_reason if response.status == R.INADMISSIBLE else None,
    )


def provider_responses(provider: TrainingProvider) -> list[ResponseSummary]:
    """Every response of the organisation, latest deadline first, with its result once awarded.

    A constant number of queries whatever the number of responses (tender, OPCO and lot are loaded at once).
    """
    responses = (
        db.session.scalars(
            select(TenderResponse)
            .join(Tender, TenderResponse.tender_id == Tender.id)
            .join(TenderLot, TenderResponse.lot_id == TenderLot.id)
            # What the list shows comes in one statement; the collections it does not show are not loaded.
            .options(
                joinedload(TenderResponse.tender).options(lazyload(Tender.lots), lazyload(Tender.criteria)),
                lazyload(TenderResponse.documents),
            )
            .where(TenderResponse.provider_id == provider.id)
            .order_by(Tender.submission_deadline.desc(), Tender.id.desc(), TenderLot.number)
        )
        .unique()
        .all()
    )
    return [ResponseSummary(r, r.tender, r.lot, *shown_status(r), result=result_of(r)) for r in responses]
