"""Budget envelopes: what each confirmed seat commits on the OPCO's envelope, realised at service fait, paid.

Every figure moves through one hook, ``on_transition(enrolment, previous)``, called by
``enrolment_states.transition`` (and by ``enrolments.enrol`` for the rows it creates, ``previous=None``):

- a seat becomes confirmed (enrolment, waiting-list offer accepted, OPCO approval) → the OPCO's share frozen
  on the enrolment (``opco_amount_cents``) is committed on the envelope frozen on it;
- it ends without training (cancellation, refusal, session cancelled…) → its commitment is released;
- it is closed (service fait) → realised = share × attended / planned minutes (to the cent, half up), the rest
  released; reopening it for a correction undoes that.
``record_payment(invoice)`` and ``release_credit_note(credit_note)`` move what the OPCO paid, or what a
credit note takes back. Figures are nested: committed ≥ realised ≥ paid (models/budget.py).

Lock order: company → session → envelope. The envelope's row lock is always taken LAST, inside the session
lock the enrolment code already holds (``services.enrolments``), and never before a company or session lock;
payments and credit notes take envelope locks alone, in id order. With one global order there is no
deadlock, and since the running totals only change under the envelope's lock, two sessions of actions drawing
on the same envelope can never both take its last euros (concurrency test on PostgreSQL).

When the envelope has no room left for a share, the OPCO's policy applies: refuse the enrolment (« Budget de
l'OPCO épuisé pour cette action »), send it to the OPCO's approval « sous réserve des fonds disponibles »
(approval then commits only if room came back), or allow it beyond the allotted amount. Crossing an alert
threshold (80/90/100 % by default) emails the OPCO's catalogue managers once per threshold.
"""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.formatting import money_fr
from marketplace.models import (
    BudgetEnvelope,
    BudgetMovement,
    Enrolment,
    EnrolmentStatus,
    Invoice,
    MovementKind,
    Organisation,
    TrainingSession,
    WhenExhausted,
    utcnow,
)
from marketplace.services import accounts, audit, outbox
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_row
from marketplace.services.roles import Perm

S = EnrolmentStatus
M = MovementKind

EXHAUSTED = "Budget de l'OPCO épuisé pour cette action."
SUBJECT_TO_FUNDS = "Sous réserve des fonds disponibles"
# Statuses whose enrolment keeps its commitment (or, once closed, its realised amount) on the envelope.
HOLDING = S.TRAINEES


def lock_envelope(envelope_id: int) -> BudgetEnvelope:
    """Lock the envelope (last, inside any session lock: see the module doc) and read it afresh."""
    lock_row(BudgetEnvelope.__table__, envelope_id)
    return db.session.get(BudgetEnvelope, envelope_id, populate_existing=True)


def _move(
    envelope: BudgetEnvelope, kind: str, cents: int, reason: str, *, enrolment=None, invoice=None
) -> None:
    """One movement on the ledger and the matching running total (caller holds the envelope lock)."""
    if cents == 0:
        return
    if kind == M.COMMITTED:
        envelope.committed_cents += cents
    elif kind == M.RELEASED:
        envelope.committed_cents -= cents
    elif kind == M.REALISED:
        envelope.realised_cents += cents
    else:
        envelope.paid_cents += cents
    db.session.add(
        BudgetMovement(
            envelope_id=envelope.id,
            enrolment_id=enrolment.id if enrolment is not None else None,
            invoice_id=invoice.id if invoice is not None else None,
            kind=kind,
            cents=cents,
            at=utcnow(),
            reason=reason[:500],
        )
    )


# --- Enrolling (under the session lock) -------------------------------------------------------------------


class Admission:
    """The envelope of a session's action, locked for one ``enrol`` batch: which status each seat gets.

    Without an envelope on the action, every answer is the status asked for (no budget rule, no query).
    """

    def __init__(self, session: TrainingSession):
        envelope_id = session.action.envelope_id
        self.envelope = lock_envelope(envelope_id) if envelope_id else None
        self.reserved = 0

    def admit(self, status: str, cents: int) -> tuple[str, str | None]:
        """(status, refusal): a confirmation needs room for ``cents`` unless the OPCO allows going beyond."""
        if self.envelope is None or status != S.CONFIRMED:
            return status, None
        if self.envelope.committed_cents + self.reserved + cents > self.envelope.allotted_cents:
            if self.envelope.when_exhausted == WhenExhausted.REFUSE:
                return status, EXHAUSTED
            if self.envelope.when_exhausted == WhenExhausted.APPROVAL:
                return S.PENDING_APPROVAL, None
        self.reserved += cents
        return status, None


def needs_approval(enrolment: Enrolment) -> bool:
    """A waiting-list seat taken while the envelope is exhausted goes to the OPCO « sous réserve des fonds
    disponibles » when that is the OPCO's policy (read without lock: the commitment checks again under it)."""
    if enrolment.envelope_id is None:
        return False
    envelope = db.session.get(BudgetEnvelope, enrolment.envelope_id)
    return (
        envelope.when_exhausted == WhenExhausted.APPROVAL
        and envelope.room_cents < enrolment.opco_amount_cents
    )


def on_created(created: list[Enrolment]) -> None:
    """The rows ``enrol`` just inserted (flushed): freeze their envelope and commit the confirmed ones."""
    for enrolment in created:
        on_transition(enrolment, None)


# --- The hook ---------------------------------------------------------------------------------------------


def on_transition(enrolment: Enrolment, previous: str | None) -> None:
    """Keep the envelope in step with the enrolment's new status (see the module doc)."""
    if previous is None:
        envelope_id = enrolment.session.action.envelope_id
        if envelope_id is None:
            return
        enrolment.envelope_id = envelope_id
    if enrolment.envelope_id is None:
        return
    status = enrolment.status
    if status == S.CONFIRMED and previous not in HOLDING:
        commit(enrolment, check=previous is not None)
    elif status == S.PENDING_APPROVAL and previous is None:
        envelope = db.session.get(BudgetEnvelope, enrolment.envelope_id)
        if envelope.room_cents < enrolment.opco_amount_cents:
            enrolment.status_reason = SUBJECT_TO_FUNDS
    elif status == S.CLOSED:
        realise(enrolment)
    elif previous == S.CLOSED:
        _unrealise(enrolment)
    elif status not in HOLDING and enrolment.budget_committed_cents:
        envelope = lock_envelope(enrolment.envelope_id)
        _move(
            envelope,
            M.RELEASED,
            enrolment.budget_committed_cents,
            f"Inscription n° {enrolment.id} : {S.LABELS[status].lower()}",
            enrolment=enrolment,
        )
        enrolment.budget_committed_cents = 0


def commit(enrolment: Enrolment, *, check: bool) -> None:
    envelope = lock_envelope(enrolment.envelope_id)
    cents = enrolment.opco_amount_cents
    if check and envelope.room_cents < cents and envelope.when_exhausted != WhenExhausted.ALLOW:
        raise DomainError(
            f"{EXHAUSTED} Il reste {money_fr(max(envelope.room_cents, 0))} sur l'enveloppe « {envelope.label} » "
            f"pour une prise en charge de {money_fr(cents)} : refusez l'inscription, ou augmentez le montant "
            "alloué de l'enveloppe."
        )
    _move(envelope, M.COMMITTED, cents, f"Inscription n° {enrolment.id} confirmée", enrolment=enrolment)
    enrolment.budget_committed_cents += cents
    _alert_if_crossed(envelope)


def realised_share(share_cents: int, attended: int | None, planned: int | None) -> int:
    """The OPCO's share prorated to the minutes attended, to the cent (half up)."""
    if not planned:
        return 0
    return (share_cents * (attended or 0) * 2 + planned) // (2 * planned)


def realise(enrolment: Enrolment) -> None:
    envelope = lock_envelope(enrolment.envelope_id)
    committed = enrolment.budget_committed_cents
    realised = min(
        committed, realised_share(committed, enrolment.attended_minutes, enrolment.planned_minutes)
    )
    minutes = f"{enrolment.attended_minutes or 0}/{enrolment.planned_minutes or 0} min"
    _move(
        envelope,
        M.REALISED,
        realised,
        f"Service fait, inscription n° {enrolment.id} ({minutes})",
        enrolment=enrolment,
    )
    _move(
        envelope,
        M.RELEASED,
        committed - realised,
        f"Non réalisé, inscription n° {enrolment.id} ({minutes})",
        enrolment=enrolment,
    )
    enrolment.budget_committed_cents = realised
    enrolment.budget_realised_cents = realised


def _unrealise(enrolment: Enrolment) -> None:
    """Reopened for a correction: back to the full commitment until it is closed again."""
    envelope = lock_envelope(enrolment.envelope_id)
    reason = f"Réouverture de l'inscription n° {enrolment.id}"
    _move(envelope, M.REALISED, -enrolment.budget_realised_cents, reason, enrolment=enrolment)
    back = enrolment.opco_amount_cents - enrolment.budget_committed_cents
    _move(envelope, M.COMMITTED, back, reason, enrolment=enrolment)
    enrolment.budget_committed_cents += back
    enrolment.budget_realised_cents = 0


# --- Payments and credit notes (called by invoicing / payment) --------------------------------------------


def _lines_by_envelope(invoice: Invoice) -> list[tuple[BudgetEnvelope, Enrolment, int]]:
    """The invoice's lines that charge an enrolment drawing on an envelope, envelopes locked in id order."""
    found = []
    for line in invoice.lines:
        if line.enrolment_id is None:
            continue
        enrolment = db.session.get(Enrolment, line.enrolment_id)
        if enrolment is None or enrolment.envelope_id is None:
            continue
        found.append((enrolment, line.amount_ht_cents + line.vat_cents))
    locked = {eid: lock_envelope(eid) for eid in sorted({e.envelope_id for e, _ in found})}
    return [(locked[e.envelope_id], e, cents) for e, cents in found]


def record_payment(invoice: Invoice) -> int:
    """The OPCO paid ``invoice``: each line's amount becomes paid on its enrolment's envelope (at most what was
    realised for it). Returns the cents moved. Company invoices do not touch the OPCO's budget."""
    if invoice.payer != "opco" or invoice.kind != "invoice":
        return 0
    moved = 0
    for envelope, enrolment, cents in _lines_by_envelope(invoice):
        paid = max(0, min(cents, enrolment.budget_realised_cents - enrolment.budget_paid_cents))
        _move(
            envelope,
            M.PAID,
            paid,
            f"Facture {invoice.number or invoice.id} payée",
            enrolment=enrolment,
            invoice=invoice,
        )
        enrolment.budget_paid_cents += paid
        moved += paid
    return moved


def release_credit_note(credit_note: Invoice) -> int:
    """A credit note to the OPCO takes back what it credits: realised (and paid beyond) and committed are
    released for each enrolment it names. Returns the cents released."""
    if credit_note.payer != "opco" or credit_note.kind != "credit_note":
        return 0
    released = 0
    for envelope, enrolment, cents in _lines_by_envelope(credit_note):
        amount = min(cents, enrolment.budget_realised_cents)
        reason = f"Avoir {credit_note.number or credit_note.id}"
        overpaid = max(0, enrolment.budget_paid_cents - (enrolment.budget_realised_cents - amount))
        _move(envelope, M.PAID, -overpaid, reason, enrolment=enrolment, invoice=credit_note)
        _move(envelope, M.REALISED, -amount, reason, enrolment=enrolment, invoice=credit_note)
        _move(envelope, M.RELEASED, amount, reason, enrolment=enrolment, invoice=credit_note)
        enrolment.budget_paid_cents -= overpaid
        enrolment.budget_realised_cents -= amount
        enrolment.budget_committed_cents -= amount
        released += amount
    return released


# --- Alerts ----------------------------------------------------------------------------------------------


def crossed_threshold(envelope: BudgetEnvelope) -> int:
    """The highest alert threshold the committed amount has reached (0: none)."""
    pct = envelope.pct(envelope.committed_cents)
    return max((t for t in envelope.threshold_list if t <= pct), default=0)


def _alert_if_crossed(envelope: BudgetEnvelope) -> None:
    """Email the OPCO's catalogue managers the first time a threshold is reached (once per threshold)."""
    reached = crossed_threshold(envelope)
    if reached <= envelope.alerted_pct:
        return
    envelope.alerted_pct = reached
    audit.record(
        "budget.alert",
        organisation_id=envelope.opco_id,
        obj=envelope,
        data={"threshold": reached, "committed_cents": envelope.committed_cents},
    )
    emails = accounts.member_emails([envelope.opco_id], "opco", Perm.MANAGE_CATALOGUE).get(
        envelope.opco_id, []
    )
    slug = db.session.get(Organisation, envelope.opco_id).slug if emails else None
    for email in emails:
        outbox.queue_email(
            email,
            "budget_alert",
            organisation_id=envelope.opco_id,
            envelope=envelope,
            opco_slug=slug,
            threshold=reached,
            pct=envelope.pct(envelope.committed_cents),
        )
