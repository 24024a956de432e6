"""Read models of the calls-for-tenders pages (OPCO builder and detail, training organisations' list, detail
and response pages): what each page shows, so the views hold no query.

Reading never writes. A tender is shown through :class:`ShownTender`, with the status it has at ``now``
(``tender_states.effective_status``): from its submission deadline on it reads « Clos » even while the stored
status still says published (the ``close-tenders`` command writes it down).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import (
    ActionStatus,
    CollectiveAction,
    Opco,
    Region,
    Tender,
    TenderAttachment,
    TenderDocumentKind,
    TenderLot,
    TenderQuestion,
    TenderResponse,
    TenderStatus,
    Theme,
    TrainingProvider,
    User,
)
from marketplace.services import (
    tender_listing,
    tender_questions,
    tender_response_reads,
    tender_responses,
    tenders,
)
from marketplace.services.errors import DomainError
from marketplace.services.pagination import Page
from marketplace.services.tender_states import TENDER, effective_status

T = TenderStatus
_CODE = re.compile(r"[0-9A-Za-z]{1,10}")


class ShownTender:
    """A tender as a page shows it: every attribute of the tender, with its status at ``now``.

    A published tender whose deadline has come shows « Clos » (and its deadline as closing time) without any
    write; templates read ``tender.status`` / ``tender.status_label`` as before.
    """

    def __init__(self, tender: Tender, now: datetime):
        self._tender = tender
        self.status = effective_status(tender, now)

    @property
    def status_label(self) -> str:
        return T.LABELS[self.status]

    @property
    def closed_at(self) -> datetime | None:
        if self._tender.closed_at is None and self.status != self._tender.status:
            return self._tender.submission_deadline  # closed by its deadline, not written down yet
        return self._tender.closed_at

    @property
    def tender(self) -> Tender:
        return self._tender

    def __getattr__(self, name: str):
        return getattr(self._tender, name)


def shown(tender: Tender, now: datetime) -> ShownTender:
    return ShownTender(tender, now)


def code_or_none(raw: str | None) -> str | None:
    """A theme or region code from a query string (letters and digits, short), else None (ignored)."""
    return raw if raw and _CODE.fullmatch(raw) else None


# --- OPCO: list, builder, detail ----------------------------------------------------------------------


@dataclass
class OpcoList:
    tenders: list[ShownTender]
    counts: dict[str, int]


def opco_list(opco: Opco, status: str, now: datetime) -> OpcoList:
    """The OPCO's tenders (filtered on their status at ``now``) and how many there are per status."""
    rows = tender_listing.opco_tenders(opco.id, status, now)
    return OpcoList([shown(t, now) for t in rows], tender_listing.status_counts(opco.id, now))


@dataclass
class BuilderChoices:
    """The choices of the builder's selects: themes, regions (or national), this OPCO's usable actions."""

    themes: list[tuple[str, str]]
    regions: list[tuple[str, str]]
    actions: list[tuple[str, str]]


def builder_choices(opco: Opco) -> BuilderChoices:
    themes = [("", "— Choisissez —")] + [
        (t.code, f"{t.code} – {t.label}") for t in db.session.scalars(select(Theme).order_by(Theme.code))
    ]
    regions = [("", "National")] + sorted_fr(
        [(r.code, r.name) for r in db.session.scalars(select(Region))], key=lambda row: row[1]
    )
    actions = [("", "— Aucune : brouillon créé à l'attribution —")] + [
        (str(a.id), f"{a.reference} – {a.title}")
        for a in db.session.scalars(
            select(CollectiveAction)
            .where(CollectiveAction.opco_id == opco.id, CollectiveAction.status != ActionStatus.ARCHIVED)
            .order_by(CollectiveAction.reference, CollectiveAction.id)
        )
    ]
    return BuilderChoices(themes, regions, actions)


@dataclass
class OpcoDetail:
    tender: ShownTender
    attachments: list[TenderAttachment]
    counts: dict[int, int]
    questions: list[tuple[TenderQuestion, str]]
    problems: list[str]
    events: list[str]
    deadline_passed: bool


def opco_detail(tender: Tender, now: datetime, offered: tuple[str, ...]) -> OpcoDetail:
    """The OPCO's page of one tender; ``offered`` are the moves the page may offer as buttons."""
    view = shown(tender, now)
    return OpcoDetail(
        tender=view,
        attachments=tenders.attachments(tender),
        counts=tenders.response_counts(tender),
        questions=tender_questions.opco_questions(tender),
        problems=tenders.publish_problems(tender, now) if tender.status == T.DRAFT else [],
        # The moves allowed from the status it has now: a tender past its deadline can go to analysis (the
        # POST writes its close first).
        events=[e for e in TENDER.allowed(view.status) if e in offered],
        deadline_passed=tenders.deadline_passed(tender, now),
    )


def attachment_of(tender: Tender, attachment_id: int) -> TenderAttachment | None:
    """The tender's attachment by id, never another tender's (None → 404)."""
    return db.session.scalar(
        select(TenderAttachment).where(
            TenderAttachment.id == attachment_id, TenderAttachment.tender_id == tender.id
        )
    )


def question_of(tender: Tender, question_id: int) -> TenderQuestion | None:
    """A question asked on this tender, never on another (None → 404)."""
    return db.session.scalar(
        select(TenderQuestion).where(TenderQuestion.id == question_id, TenderQuestion.tender_id == tender.id)
    )


# --- Training organisations: list and detail ----------------------------------------------------------


@dataclass
class FilterChoices:
    opcos: list[Opco]
    themes: list[Theme]
    regions: list[Region]


def filter_choices() -> FilterChoices:
    return FilterChoices(
        opcos=tender_listing.opcos_with_tenders(),
        themes=list(db.session.scalars(select(Theme).order_by(Theme.code))),
        regions=sorted_fr(db.session.scalars(select(Region)), key=lambda r: r.name),
    )


def provider_list(filters: tender_listing.TenderFilters, now: datetime) -> Page:
    """One page of the tenders every training organisation may read, each with its status at ``now``."""
    result = tender_listing.published_tenders(filters, now)
    result.items = [shown(t, now) for t in result.items]
    return result


@dataclass
class ProviderDetail:
    tender: ShownTender
    attachments: list[TenderAttachment]
    answers: list[tender_questions.PublicAnswer]
    own_questions: list[TenderQuestion]
    questions_open: bool


def provider_detail(tender: Tender, provider: TrainingProvider, now: datetime) -> ProviderDetail:
    view = shown(tender, now)
    return ProviderDetail(
        tender=view,
        attachments=tenders.attachments(tender),
        answers=tender_questions.public_answers(tender),
        own_questions=tender_questions.provider_questions(tender, provider),
        questions_open=view.status == T.PUBLISHED
        and tender.questions_deadline is not None
        and tender.questions_deadline >= now,
    )


# --- Training organisations: the response page and « Mes réponses » ------------------------------------


@dataclass
class ResponsePage:
    tender: ShownTender
    lot: TenderLot
    response: TenderResponse | None  # None: the organisation cannot start one (``notice`` says why)
    notice: str | None
    is_new: bool
    editable: bool
    can_withdraw: bool
    missing: list[str]
    documents: list
    checklist: list[tuple[str, str, bool]]
    result: tender_response_reads.ResponseResult | None
    submitted: str
    deadline_passed: bool
    shown_status: str | None
    shown_label: str | None
    awarded: bool
    required: list[str] = field(default_factory=list)


def response_page(
    tender: Tender, lot: TenderLot, provider: TrainingProvider, actor: User | None, now: datetime
) -> ResponsePage:
    """The organisation's response to the lot (or a new, unsaved draft, or why it cannot start one)."""
    try:
        response, notice = tender_responses.get_or_start(tender, lot, provider, actor, now), None
    except DomainError as error:
        response, notice = None, error.message
    documents = list(response.documents) if response is not None else []
    attached = {d.kind for d in documents}
    required = list(tender.required_documents or [])
    status, label = tender_response_reads.shown_status(response) if response is not None else (None, None)
    new = response is None or tender_responses.is_new(response)
    return ResponsePage(
        tender=shown(tender, now),
        lot=lot,
        response=response,
        notice=notice,
        is_new=new,
        editable=response is not None and tender_responses.is_editable(response, now),
        can_withdraw=response is not None and tender_responses.can_withdraw(response, now),
        missing=(tender_responses.missing_fields(response) + tender_responses.missing_documents(response))
        if response is not None
        else [],
        documents=documents,
        checklist=[(kind, TenderDocumentKind.LABELS.get(kind, kind), kind in attached) for kind in required],
        result=tender_response_reads.result_of(response) if not new else None,
        submitted=tender_responses.submitted_label(response.submitted_at) if response is not None else "",
        deadline_passed=tenders.deadline_passed(tender, now),
        shown_status=status,
        shown_label=label,
        awarded=tender.status == T.AWARDED,
        required=required,
    )


def own_response(lot: TenderLot, provider: TrainingProvider) -> TenderResponse | None:
    return tender_response_reads.find_response(lot, provider)


@dataclass
class ResponseRow:
    """A line of « Mes réponses »: the summary, its tender as shown now, and whether its deadline passed."""

    summary: tender_response_reads.ResponseSummary
    tender: ShownTender
    deadline_passed: bool

    def __getattr__(self, name: str):
        return getattr(self.summary, name)


def my_responses(provider: TrainingProvider, now: datetime) -> list[ResponseRow]:
    return [
        ResponseRow(s, shown(s.tender, now), tenders.deadline_passed(s.tender, now))
        for s in tender_response_reads.provider_responses(provider)
    ]
