"""Invoices of a training organisation: drafts from a delivered session, issuing, credit notes (avoirs).

- ``draft_for_session``: from a session closed « service fait », one invoice to the OPCO (its funded share
  of what was done) and one per company (its remainder, and any indemnité de dédit — never the OPCO's,
  L6354-1); amounts from services.invoice_amounts; idempotent (a session's drafts are made once).
- ``issue``: the number is taken under the lock of the organisation × year ``InvoiceSequence`` row (inserted
  if missing, then ``UPDATE … RETURNING`` locks it: PostgreSQL row lock, SQLite writer lock), so numbers
  have no gap and no duplicate; the parties and the legal mentions are frozen on the row; the PDF (Factur-X)
  is rendered once and stored with its SHA-256.
- ``credit``: a credit note (« A-2027-0003 ») for the whole invoice or part of it. Invoices and credit
  notes share ONE chronological series per organisation and year (the prefix F-/A- tells them apart; the
  law asks for a continuous series, which may be a single one): the numbers F-2027-0001, A-2027-0002,
  F-2027-0003… have no gap taken together. A full credit note cancels the invoice (machine « cancel »).
- An issued invoice is never edited: a flush that changes a frozen column or a line of a non-draft invoice
  raises DomainError (``_refuse_edits``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import attributes

from marketplace.extensions import db
from marketplace.formatting import date_fr, paris_today
from marketplace.models import (
    Enrolment,
    EnrolmentStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    Payer,
    SessionStatus,
    TrainingSession,
    User,
)
from marketplace.services import (
    audit,
    budgets,
    invoice_amounts,
    invoice_document,
    invoice_states,
    outbox,
    storage,
)
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.identifiers import VAT_REGIMES
from marketplace.services.locking import LOCK_TIMEOUT_MS, LockBusy, is_lock_timeout, is_postgresql, lock_row

PREFIX = {InvoiceKind.INVOICE: "F", InvoiceKind.CREDIT_NOTE: "A"}
PAYMENT_DAYS = 30
LATE_PENALTY_TEXT = (
    "Pénalités de retard : trois fois le taux d'intérêt légal, exigibles dès le lendemain de l'échéance "
    "(art. L441-10 C. com.). Indemnité forfaitaire pour frais de recouvrement : 40 € (art. D441-5 C. com.). "
    "Pas d'escompte pour paiement anticipé."
)
VAT_MENTIONS = {
    "exonere": "Exonération de TVA – article 261-4-4° a du CGI",
    "franchise": "TVA non applicable, art. 293 B du CGI",
    "assujetti": "",
}
DEDIT_MENTION = (
    "Indemnité de dédit : somme à caractère indemnitaire, hors champ de la TVA, non imputable à l'OPCO."
)
FLOW_LABELS = {"subrogation": "Subrogation de paiement", "direct_purchase": "Achat direct"}
assert set(VAT_MENTIONS) == set(VAT_REGIMES)


def funding_flow_of(session: TrainingSession) -> str:
    return session.action.funding_flow or session.action.opco.funding_flow or "subrogation"


# --- Drafts --------------------------------------------------------------------------------------------


def _trainees(session: TrainingSession) -> list[invoice_amounts.Trainee]:
    rows = db.session.scalars(
        select(Enrolment)
        .where(
            Enrolment.session_id == session.id,
            Enrolment.status.in_((EnrolmentStatus.CLOSED, EnrolmentStatus.CANCELLED)),
        )
        .order_by(Enrolment.id)
    ).all()
    trainees = []
    for e in rows:
        if e.status == EnrolmentStatus.CANCELLED:
            if not e.is_late_cancellation:
                continue
            reason, planned, done = "late_cancellation", 0, 0
        else:
            reason = "absent" if e.outcome == EnrolmentStatus.ABSENT else None
            planned, done = e.planned_minutes or 0, e.attended_minutes or 0
        trainees.append(
            invoice_amounts.Trainee(
                enrolment_id=e.id,
                company_id=e.company_id,
                name=e.employee.full_name,
                price_cents=e.price_cents,
                funded_cents=e.funded_cents,
                vat_rate=Decimal(e.vat_rate or 0),
                planned_minutes=planned,
                attended_minutes=done,
                dedit_rate_pct=e.dedit_rate_pct or 0,
                dedit_reason=reason,
            )
        )
    return trainees


def pricing_of(session: TrainingSession) -> invoice_amounts.Pricing:
    ref = session.referencing
    return invoice_amounts.Pricing(
        mode=ref.pricing_mode or "per_trainee",
        hourly_rate_cents=ref.hourly_rate_cents or 0,
        group_price_cents=ref.group_price_cents or 0,
        group_threshold_pct=ref.group_threshold_pct or 0,
    )


def session_invoices(session_id: int) -> list[Invoice]:
    return list(
        db.session.scalars(
            select(Invoice)
            .where(Invoice.session_id == session_id, Invoice.kind == InvoiceKind.INVOICE)
            .order_by(Invoice.id)
        )
    )


def draft_for_session(session: TrainingSession, actor: User | None) -> list[Invoice]:
    """The session's invoices, drafted once from the frozen figures (a second call returns the same)."""
    if not lock_row(TrainingSession.__table__, session.id):
        raise NotFound("Cette session n'existe pas.")
    session = db.session.get(TrainingSession, session.id, populate_existing=True)
    if session.status != SessionStatus.DELIVERED:
        raise DomainError("Les factures se préparent une fois la session clôturée (service fait).")
    existing = [i for i in session_invoices(session.id) if i.status != InvoiceStatus.CANCELLED]
    if existing:
        return existing
    drafts = invoice_amounts.drafts(_trainees(session), pricing_of(session))
    flow = funding_flow_of(session)
    created = []
    for draft in drafts:
        invoice = Invoice(
            kind=InvoiceKind.INVOICE,
            payer=draft.payer,
            status=InvoiceStatus.DRAFT,
            provider_id=session.provider_id,
            opco_id=session.opco_id,
            company_id=draft.company_id,
            session_id=session.id,
            funding_flow=flow,
            payment_days=PAYMENT_DAYS,
            created_by_id=actor.id if actor else None,
        )
        _set_lines(invoice, draft.lines)
        db.session.add(invoice)
        created.append(invoice)
    db.session.flush()
    for invoice in created:
        audit.record(
            "invoice.drafted",
            organisation_id=invoice.provider_id,
            actor=actor,
            obj=invoice,
            data={"session": session.id, "payer": invoice.payer, "total_ht_cents": invoice.total_ht_cents},
        )
    return created


def _set_lines(invoice: Invoice, lines: list[invoice_amounts.Line]) -> None:
    invoice.lines = [
        InvoiceLine(
            position=n,
            kind=line.kind,
            enrolment_id=line.enrolment_id,
            label=line.label[:300],
            quantity=line.quantity,
            unit=line.unit,
            unit_price_cents=line.unit_price_cents,
            vat_rate=line.vat_rate,
            amount_ht_cents=line.amount_ht_cents,
            vat_cents=line.vat_cents,
            minutes_planned=line.minutes_planned,
            minutes_done=line.minutes_done,
        )
        for n, line in enumerate(lines, start=1)
    ]
    invoice.total_ht_cents = sum(line.amount_ht_cents for line in lines)
    invoice.vat_cents = sum(line.vat_cents for line in lines)
    invoice.total_ttc_cents = invoice.total_ht_cents + invoice.vat_cents


# --- Numbering -----------------------------------------------------------------------------------------


def next_number(provider_id: int, year: int) -> int:
    """Take the next number of the organisation's series for ``year`` under the sequence row's lock
    (held until the transaction ends: a rolled-back issue gives its number back, so no gap)."""
    values = {"provider_id": provider_id, "year": year, "last_number": 0}
    if is_postgresql():
        db.session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
        statement = pg_insert(InvoiceSequence).values(**values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(InvoiceSequence).values(**values).on_conflict_do_nothing()
    try:
        db.session.execute(statement)
        number = db.session.execute(
            update(InvoiceSequence)
            .where(InvoiceSequence.provider_id == provider_id, InvoiceSequence.year == year)
            .values(last_number=InvoiceSequence.last_number + 1)
            .returning(InvoiceSequence.last_number)
        ).scalar_one()
    except OperationalError as error:
        if is_lock_timeout(error):
            raise LockBusy() from error
        raise
    return number


def _address(org) -> str:
    parts = [
        getattr(org, "address", "") or "",
        f"{getattr(org, 'postal_code', '') or ''} {getattr(org, 'city', '') or ''}",
    ]
    return ", ".join(p.strip() for p in parts if p.strip())[:500]


def _opco_address(opco) -> str:
    parts = [opco.billing_address or "", f"{opco.billing_postal_code or ''} {opco.billing_city or ''}"]
    return ", ".join(p.strip() for p in parts if p.strip())[:500]


def _freeze(invoice: Invoice, today) -> None:
    """Number, dates, parties and mentions, written once on the row."""
    session = db.session.get(TrainingSession, invoice.session_id)
    provider = session.provider
    invoice.year = today.year
    invoice.sequence = next_number(invoice.provider_id, today.year)
    invoice.number = f"{PREFIX[invoice.kind]}-{today.year}-{invoice.sequence:04d}"
    invoice.issued_on = today
    invoice.due_on = today + timedelta(days=invoice.payment_days)
    invoice.seller_name = provider.name[:200]
    invoice.seller_address = _address(provider)
    invoice.seller_siret = provider.siret
    invoice.seller_vat_number = provider.vat_number or ""
    invoice.seller_nda = provider.nda
    if invoice.payer == Payer.OPCO:
        buyer = session.action.opco
        invoice.buyer_siret = buyer.siret or ""
        invoice.buyer_vat_number = buyer.vat_number or ""
    else:
        from marketplace.models import Company

        buyer = db.session.get(Company, invoice.company_id)
        invoice.buyer_siret = buyer.siret
        invoice.buyer_vat_number = buyer.vat_number or ""
    invoice.buyer_name = buyer.name[:200]
    invoice.buyer_address = _address(buyer) if invoice.payer != Payer.OPCO else _opco_address(buyer)
    invoice.order_reference = (
        f"Action {session.action.reference} — session n° {session.id} du {date_fr(session.start_date)} "
        f"au {date_fr(session.end_date)}"
    )[:100]
    mentions = [VAT_MENTIONS.get(provider.vat_regime, "")]
    if any(line.kind == "dedit" for line in invoice.lines):
        mentions.append("Dédit hors champ de la TVA")
    invoice.vat_mention = " ; ".join(m for m in mentions if m)[:200]
    invoice.late_penalty_text = LATE_PENALTY_TEXT[:300]
    invoice.recovery_fee_cents = 4000


def _store_pdf(invoice: Invoice, credited: Invoice | None = None) -> None:
    data = invoice_document.render(invoice, credited)
    key = storage.storage().save(data, ".pdf")
    storage.discard_if_rolled_back(key)
    invoice.storage_key = key
    invoice.sha256 = invoice_document.sha256(data)


def _locked(invoice: Invoice) -> Invoice:
    if not lock_row(Invoice.__table__, invoice.id):
        raise NotFound("Cette facture n'existe pas.")
    return db.session.get(Invoice, invoice.id, populate_existing=True)


def issue(invoice: Invoice, actor: User | None, *, today=None) -> Invoice:
    """Number, freeze, render and store the invoice, then « issue » it; its payer is told by email."""
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise DomainError("Cette facture est déjà émise : elle ne peut plus être modifiée.")
    if invoice.total_ht_cents <= 0:
        raise DomainError("Une facture à zéro n'est pas émise.")
    _freeze(invoice, today or paris_today())
    credited = db.session.get(Invoice, invoice.credited_invoice_id) if invoice.credited_invoice_id else None
    _store_pdf(invoice, credited)
    invoice_states.transition(invoice, "issue", actor, data={"number": invoice.number})
    _notify_payer(invoice)
    return invoice


def _notify_payer(invoice: Invoice) -> None:
    from marketplace.services import accounts
    from marketplace.services.roles import Perm

    if invoice.payer == Payer.OPCO:
        org_id, kind, perms = invoice.opco_id, "opco", (Perm.CONTROL_DELIVERY,)
    else:
        org_id, kind, perms = invoice.company_id, "company", (Perm.PAY,)
    for email in sorted(accounts.member_emails([org_id], kind, *perms).get(org_id, [])):
        outbox.queue_email(email, "invoice_issued", organisation_id=org_id, invoice=invoice)


# --- Credit notes --------------------------------------------------------------------------------------


def credited_cents(invoice_id: int) -> int:
    """HT already credited on an invoice by its issued credit notes."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Invoice.total_ht_cents), 0)).where(
                Invoice.credited_invoice_id == invoice_id,
                Invoice.kind == InvoiceKind.CREDIT_NOTE,
                Invoice.status != InvoiceStatus.DRAFT,
            )
        )
        or 0
    )


CREDITABLE = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.IN_CONTROL,
    InvoiceStatus.INFO_REQUESTED,
    InvoiceStatus.VALIDATED,
    InvoiceStatus.REJECTED,
)


def credit(
    invoice: Invoice,
    actor: User | None,
    reason: str | None,
    *,
    amount_cents: int | None = None,
    today=None,
) -> Invoice:
    """Issue a credit note on ``invoice``: for what is left of it (``amount_cents`` None) or for
    ``amount_cents`` HT; the full credit cancels the invoice."""
    invoice = _locked(invoice)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Indiquez le motif de l'avoir.", field="reason")
    if invoice.kind != InvoiceKind.INVOICE:
        raise DomainError("Un avoir ne s'établit que sur une facture.")
    if invoice.status == InvoiceStatus.PAYMENT_PENDING:
        raise DomainError(
            "Un paiement par carte est en cours sur cette facture : attendez la réponse de Stripe."
        )
    paid_by_company = invoice.status == InvoiceStatus.PAID and invoice.payer == Payer.COMPANY
    if invoice.status not in CREDITABLE and not paid_by_company:
        raise DomainError("Un avoir ne s'établit que sur une facture émise, non payée et non annulée.")
    left = invoice.total_ht_cents - credited_cents(invoice.id)
    if amount_cents is not None and not 0 < amount_cents <= left:
        raise DomainError(
            f"Le montant de l'avoir doit être compris entre 0,01 € et {left / 100:.2f} € HT.".replace(
                ".", ","
            ),
            field="amount",
        )
    full = amount_cents is None or amount_cents == left
    if full and left == invoice.total_ht_cents:
        lines = [
            invoice_amounts.Line(
                line.kind,
                line.label,
                line.quantity,
                line.unit,
                line.unit_price_cents,
                line.amount_ht_cents,
                Decimal(line.vat_rate),
                line.enrolment_id,
                line.minutes_planned,
                line.minutes_done,
            )  # fmt: skip
            for line in invoice.lines
        ]
    else:
        rate = Decimal(invoice.lines[0].vat_rate) if invoice.lines else Decimal(0)
        amount = left if amount_cents is None else amount_cents
        lines = [
            invoice_amounts.Line(
                "training",
                f"Avoir sur la facture {invoice.number} : {reason}"[:300],
                Decimal(1),
                "forfait",
                amount,
                amount,
                rate,
            )  # fmt: skip
        ]
    note = Invoice(
        kind=InvoiceKind.CREDIT_NOTE,
        payer=invoice.payer,
        status=InvoiceStatus.DRAFT,
        provider_id=invoice.provider_id,
        opco_id=invoice.opco_id,
        company_id=invoice.company_id,
        session_id=invoice.session_id,
        credited_invoice_id=invoice.id,
        funding_flow=invoice.funding_flow,
        payment_days=invoice.payment_days,
        adjustment_reason=reason[:500],
        created_by_id=actor.id if actor else None,
    )
    _set_lines(note, lines)
    db.session.add(note)
    db.session.flush()
    issue(note, actor, today=today)
    budgets.release_credit_note(note)  # what the OPCO no longer owes goes back to its envelopes
    if full:
        invoice_states.transition(invoice, "cancel", actor, reason=reason, data={"credit_note": note.number})
    if (
        paid_by_company
    ):  # paid by card: the credit note's amount goes back on the card (services.stripe_refunds)
        from marketplace.services import stripe_refunds

        stripe_refunds.refund_credit_note(note, invoice, actor)
    return note


def credit_as_typed(
    invoice: Invoice, actor: User | None, reason: str | None, raw_amount: str | None
) -> Invoice:
    """The credit note form: the amount HT as typed (« 150,50 »); empty credits what is left."""
    from marketplace.services.french_numbers import parse_euros

    raw = (raw_amount or "").strip()
    amount = parse_euros(raw, "amount", "Le montant") if raw else None
    return credit(invoice, actor, reason, amount_cents=amount)


# --- Immutability --------------------------------------------------------------------------------------

FROZEN = [
    "kind",
    "payer",
    "provider_id",
    "opco_id",
    "company_id",
    "session_id",
    "credited_invoice_id",
    "number",
    "year",
    "sequence",
    "issued_on",
    "due_on",
    "total_ht_cents",
    "vat_cents",
    "total_ttc_cents",
    "funding_flow",
    "seller_name",
    "seller_address",
    "seller_siret",
    "seller_vat_number",
    "seller_nda",
    "buyer_name",
    "buyer_address",
    "buyer_siret",
    "buyer_vat_number",
    "order_reference",
    "vat_mention",
    "payment_days",
    "late_penalty_text",
    "recovery_fee_cents",
    "storage_key",
    "sha256",
]


def _was_issued(invoice: Invoice) -> bool:
    history = attributes.get_history(invoice, "status")
    before = (history.deleted or history.unchanged or [InvoiceStatus.DRAFT])[0]
    return before != InvoiceStatus.DRAFT


@event.listens_for(OrmSession, "before_flush")
def _refuse_edits(session, _context, _instances) -> None:
    """An issued invoice is never edited: only its status, control and payment fields move."""
    for obj in session.dirty:
        if isinstance(obj, Invoice) and _was_issued(obj):
            changed = [name for name in FROZEN if attributes.get_history(obj, name).has_changes()]
            if changed:
                raise DomainError("Une facture émise ne se modifie pas : établissez un avoir.")
    for obj in [*session.dirty, *session.new, *session.deleted]:
        if isinstance(obj, InvoiceLine) and obj.invoice_id is not None:
            parent = session.get(Invoice, obj.invoice_id)
            if parent is not None and parent.status != InvoiceStatus.DRAFT and _was_issued(parent):
                raise DomainError("Une facture émise ne se modifie pas : établissez un avoir.")
    for obj in session.deleted:
        if isinstance(obj, Invoice) and _was_issued(obj):
            raise DomainError("Une facture émise ne se supprime pas : établissez un avoir.")
