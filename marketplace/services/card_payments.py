"""A company pays its invoice (reste à charge, dédit) by card on the training organisation's Stripe account,
or the organisation records a bank transfer received by hand.

- The amount and currency come from our database (the invoice's TTC minus its issued credit notes), never from
  the browser, which only sends the card's payment method id (Stripe.js).
- One open PaymentIntent per invoice (``CardPayment`` row, under the invoice's lock): reused while open (3-D
  Secure pending…); a declined one is closed and the next attempt gets a new one. Each is created with an
  idempotency key and metadata naming our invoice and organisations.
- Stripe's answer is applied by ``apply_intent`` only, whoever asked (the payer's page polling us, the
  webhook, the reconciliation job): it re-reads the PaymentIntent from Stripe and checks it is ours
  (metadata, amount, currency) before moving the invoice « Paiement en cours » → « Payée » or back to
  « Émise » with the decline reason in French.
- Paid: the receipt (the invoice PDF marked « acquittée », a new document stored with its hash), both sides
  told by email.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from datetime import date

import stripe
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    CardPayment,
    CardPaymentStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payer,
    PaymentMeans,
    User,
    utcnow,
)
from marketplace.services import invoice_document, invoice_states, outbox, storage, stripe_gateway
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.locking import lock_row
from marketplace.services.roles import Perm
from marketplace.services.stripe_settings import account_of

_PAYMENT_METHOD = re.compile(r"^(pm|card)_[A-Za-z0-9]{6,200}$")
CURRENCY = "eur"
PAYABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PAYMENT_PENDING)


def open_amount(invoice: Invoice) -> int:
    """What the company still owes, TTC: the invoice minus its issued credit notes."""
    credited = db.session.scalar(
        select(func.coalesce(func.sum(Invoice.total_ttc_cents), 0)).where(
            Invoice.credited_invoice_id == invoice.id,
            Invoice.kind == InvoiceKind.CREDIT_NOTE,
            Invoice.status != InvoiceStatus.DRAFT,
        )
    )
    return max(invoice.total_ttc_cents - int(credited or 0), 0)


def latest_payment(invoice_id: int) -> CardPayment | None:
    return db.session.scalar(
        select(CardPayment)
        .where(CardPayment.invoice_id == invoice_id)
        .order_by(CardPayment.id.desc())
        .limit(1)
    )


def _locked(invoice: Invoice) -> Invoice:
    if not lock_row(Invoice.__table__, invoice.id):
        raise NotFound("Cette facture n'existe pas.")
    return db.session.get(Invoice, invoice.id, populate_existing=True)


def _check_payable(invoice: Invoice) -> None:
    if invoice.payer != Payer.COMPANY or invoice.kind != InvoiceKind.INVOICE:
        raise DomainError("Seules les factures adressées à l'entreprise se paient sur la plateforme.")
    if invoice.status == InvoiceStatus.PAID:
        raise DomainError("Cette facture est déjà payée.")
    if invoice.status not in PAYABLE:
        raise DomainError("Cette facture ne peut plus être payée (annulée par avoir).")


# --- The company pays by card ---------------------------------------------------------------------------


def start(invoice: Invoice, actor: User, raw_payment_method: str | None) -> dict:
    """Pay ``invoice`` with the card Stripe.js tokenised: reuse the open PaymentIntent or create one, confirm
    it, and say what the browser does next (3-D Secure with the client secret, or the result page)."""
    payment_method = (raw_payment_method or "").strip()
    if not _PAYMENT_METHOD.match(payment_method):
        raise DomainError(
            "Les informations de carte n'ont pas été transmises : saisissez de nouveau la carte."
        )
    invoice = _locked(invoice)
    _check_payable(invoice)
    account = account_of(invoice.provider_id)
    if account is None or not account.connected:
        raise DomainError("Cet organisme n'accepte pas le paiement par carte : réglez par virement.")
    client = stripe_gateway.client(account)
    current = latest_payment(invoice.id)
    if current is not None and current.status == CardPaymentStatus.OPEN and current.intent_id:
        intent = _retrieve(client, current.intent_id)
        apply_intent(current, intent, actor)
        if current.status == CardPaymentStatus.OPEN and intent.status in ("requires_action", "processing"):
            return _answer(current, intent)  # the same PaymentIntent, reused
        if current.status == CardPaymentStatus.SUCCEEDED:
            return _answer(current, intent)
        if current.status == CardPaymentStatus.OPEN:  # waiting for a card: close it, a new one follows
            cancel_quietly(client, current.intent_id)
            close_failed(current, invoice, "abandoned", "Paiement abandonné.", actor)
    amount = open_amount(invoice)
    if amount <= 0:
        raise DomainError("Il ne reste rien à payer sur cette facture.")
    payment = CardPayment(
        invoice_id=invoice.id,
        provider_id=invoice.provider_id,
        company_id=invoice.company_id,
        idempotency_key=f"mp-invoice-{invoice.id}-{secrets.token_hex(12)}",
        amount_cents=amount,
        currency=CURRENCY,
        created_by_id=actor.id,
    )
    db.session.add(payment)
    db.session.flush()
    try:
        intent = client.v1.payment_intents.create(
            {
                "amount": amount,
                "currency": CURRENCY,
                "payment_method": payment_method,
                "payment_method_types": ["card"],
                "metadata": {
                    "invoice_id": str(invoice.id),
                    "invoice_number": invoice.number or "",
                    "provider_id": str(invoice.provider_id),
                    "company_id": str(invoice.company_id),
                },
            },
            {"idempotency_key": payment.idempotency_key},
        )
    except stripe.StripeError as error:
        raise DomainError(stripe_gateway.french(error)) from None
    payment.intent_id = intent.id
    payment.stripe_status = intent.status
    if invoice.status == InvoiceStatus.ISSUED:
        invoice_states.transition(
            invoice, "start_payment", actor, actor_org_id=invoice.company_id, data={"amount_cents": amount}
        )
    try:
        client.v1.payment_intents.confirm(
            intent.id, {}, {"idempotency_key": f"{payment.idempotency_key}-confirm"}
        )
    except stripe.CardError:
        pass  # the declined PaymentIntent says why: read it back below
    except stripe.StripeError as error:
        close_failed(payment, invoice, "stripe_error", stripe_gateway.french(error), actor)
        return _answer(payment, None)
    intent = _retrieve(client, intent.id)
    apply_intent(payment, intent, actor)
    return _answer(payment, intent)


def _answer(payment: CardPayment, intent) -> dict:
    action = (
        intent is not None and intent.status == "requires_action" and payment.status == CardPaymentStatus.OPEN
    )
    return {
        "payment": payment,
        "status": "requires_action" if action else payment.status,
        "client_secret": intent.client_secret if action else None,
        "message": payment.failure_message,
    }


def _retrieve(client: stripe.StripeClient, intent_id: str):
    try:
        return client.v1.payment_intents.retrieve(intent_id)
    except stripe.StripeError as error:
        raise DomainError(stripe_gateway.french(error)) from None


def cancel_quietly(client: stripe.StripeClient, intent_id: str) -> None:
    with contextlib.suppress(stripe.StripeError):  # already final at Stripe: nothing to cancel
        client.v1.payment_intents.cancel(intent_id)


def refresh(invoice: Invoice, actor: User | None = None) -> CardPayment | None:
    """Ask Stripe about the invoice's open payment (the result page polls this) and apply the answer."""
    invoice = _locked(invoice)
    payment = latest_payment(invoice.id)
    if payment is None or payment.status != CardPaymentStatus.OPEN or not payment.intent_id:
        return payment
    account = account_of(invoice.provider_id)
    if account is None or not account.connected:
        return payment
    apply_intent(payment, _retrieve(stripe_gateway.client(account), payment.intent_id), actor)
    return payment


# --- Stripe's answer, applied ---------------------------------------------------------------------------


def meta(intent, key: str) -> str | None:
    metadata = (
        intent.metadata.to_dict() if hasattr(intent.metadata, "to_dict") else dict(intent.metadata or {})
    )
    return metadata.get(key)


def is_ours(payment: CardPayment, intent) -> bool:
    """The PaymentIntent Stripe returned is the one we created for this invoice, amount and currency."""
    return (
        intent.id == payment.intent_id
        and meta(intent, "invoice_id") == str(payment.invoice_id)
        and meta(intent, "provider_id") == str(payment.provider_id)
        and int(intent.amount) == payment.amount_cents
        and (intent.currency or "").lower() == payment.currency
    )


def apply_intent(payment: CardPayment, intent, actor: User | None) -> str:
    """Move the payment and its invoice to what Stripe says of the PaymentIntent (caller holds the invoice's
    lock). Returns what happened: « paid », « failed », « open », « unchanged » or « not_ours »."""
    if not is_ours(payment, intent):
        return "not_ours"
    invoice = db.session.get(Invoice, payment.invoice_id)
    payment.stripe_status = intent.status
    if intent.status == "succeeded":
        if payment.status == CardPaymentStatus.SUCCEEDED:
            return "unchanged"
        payment.status = CardPaymentStatus.SUCCEEDED
        payment.failure_code = payment.failure_message = None
        payment.paid_at = utcnow()
        if invoice.status in PAYABLE:
            _record_paid(invoice, actor, PaymentMeans.CARD, paris_today(), intent.id)
        return "paid"
    if payment.status != CardPaymentStatus.OPEN:
        return "unchanged"  # final already (a late « failed » after success changes nothing)
    error = intent.last_payment_error
    if intent.status == "canceled" or (intent.status == "requires_payment_method" and error):
        code = (error.code if error else None) or "canceled"
        decline = getattr(error, "decline_code", None) if error else None
        message = stripe_gateway.decline_message(code, decline) if error else "Paiement annulé."
        close_failed(payment, invoice, code, message, actor)
        return "failed"
    return "open"


def close_failed(payment: CardPayment, invoice: Invoice, code: str, message: str, actor: User | None) -> None:
    payment.status = CardPaymentStatus.FAILED
    payment.failure_code = code[:60]
    payment.failure_message = message[:300]
    if invoice.status == InvoiceStatus.PAYMENT_PENDING:
        invoice_states.transition(invoice, "payment_failed", actor, reason=message, data={"code": code[:60]})


def _record_paid(invoice: Invoice, actor: User | None, means: str, paid_on: date, reference: str) -> None:
    invoice.paid_on = paid_on
    invoice.payment_means = means
    invoice.payment_reference = reference[:100]
    invoice_states.transition(
        invoice,
        "pay",
        actor,
        actor_org_id=invoice.company_id,
        data={"means": means, "reference": reference[:100], "amount_cents": open_amount(invoice)},
    )
    data = invoice_document.render_receipt(invoice)
    key = storage.storage().save(data, ".pdf")
    storage.discard_if_rolled_back(key)
    invoice.receipt_storage_key = key
    invoice.receipt_sha256 = invoice_document.sha256(data)
    _notify_paid(invoice)


def _notify_paid(invoice: Invoice) -> None:
    from marketplace.services.accounts import member_emails

    company = member_emails([invoice.company_id], "company", Perm.PAY).get(invoice.company_id, [])
    provider = member_emails([invoice.provider_id], "provider", Perm.INVOICE).get(invoice.provider_id, [])
    means = PaymentMeans.LABELS[invoice.payment_means]
    for email in sorted(company):
        outbox.queue_email(
            email,
            "invoice_paid",
            organisation_id=invoice.company_id,
            invoice=invoice,
            means=means,
            side="company",
        )
    for email in sorted(provider):
        outbox.queue_email(
            email,
            "invoice_paid",
            organisation_id=invoice.provider_id,
            invoice=invoice,
            means=means,
            side="provider",
        )


def receipt_bytes(invoice: Invoice) -> bytes:
    """The stored receipt, checked against its hash."""
    if not invoice.receipt_storage_key:
        raise NotFound("Cette facture n'a pas de reçu : elle n'est pas payée.")
    data = storage.storage().read(invoice.receipt_storage_key)
    if invoice_document.sha256(data) != invoice.receipt_sha256:
        raise DomainError("Ce document ne correspond plus à son empreinte : il ne peut pas être servi.")
    return data


# --- The organisation records a transfer received ------------------------------------------------------


def mark_transfer_received(
    invoice: Invoice, actor: User, received_on: date | None, raw_reference: str | None
) -> Invoice:
    """« Virement reçu »: the organisation saw the company's transfer on its account (date, reference)."""
    invoice = _locked(invoice)
    _check_payable(invoice)
    if invoice.status == InvoiceStatus.PAYMENT_PENDING:
        raise DomainError(
            "Un paiement par carte est en cours sur cette facture : attendez la réponse de Stripe."
        )
    reference = " ".join((raw_reference or "").split())
    if received_on is None:
        raise DomainError("Indiquez la date de réception du virement.", field="received_on")
    if received_on > paris_today():
        raise DomainError("La date de réception ne peut pas être dans le futur.", field="received_on")
    if invoice.issued_on and received_on < invoice.issued_on:
        raise DomainError("La date de réception précède l'émission de la facture.", field="received_on")
    if not reference:
        raise DomainError("Indiquez la référence du virement (libellé du relevé).", field="reference")
    _record_paid(invoice, actor, PaymentMeans.TRANSFER, received_on, reference)
    return invoice


def record_for_demo(invoice: Invoice, actor: User | None) -> CardPayment:
    """Demo data only (``flask seed-demo``, which has no Stripe account to call): a card payment as a
    succeeded PaymentIntent would have left it — the payment row, the invoice « Payée » by card, its
    receipt. Never called from a route."""
    invoice = _locked(invoice)
    _check_payable(invoice)
    amount = open_amount(invoice)
    payment = CardPayment(
        invoice_id=invoice.id,
        provider_id=invoice.provider_id,
        company_id=invoice.company_id,
        intent_id=f"pi_demo_{invoice.id:06d}",
        idempotency_key=f"mp-invoice-{invoice.id}-demo",
        amount_cents=amount,
        currency=CURRENCY,
        status=CardPaymentStatus.SUCCEEDED,
        stripe_status="succeeded",
        paid_at=utcnow(),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(payment)
    invoice_states.transition(invoice, "start_payment", actor, actor_org_id=invoice.company_id)
    _record_paid(invoice, actor, PaymentMeans.CARD, paris_today(), payment.intent_id)
    return payment
