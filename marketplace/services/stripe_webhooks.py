"""Stripe webhooks, one endpoint per training organisation, and the reconciliation job.

A delivery is only a trigger (pretix does the same): its signature is checked with the organisation's own
signing secret (``stripe.Webhook.construct_event``, tolerance 300 s; unsigned, forged, stale or sent to
another organisation's endpoint → 400, nothing changed but a « refusé » row for the operator); the event id is
stored unique per organisation, so a replay changes nothing; then the PaymentIntent or Refund is fetched from
Stripe with the organisation's key and only Stripe's answer is applied (services.card_payments.apply_intent):
an event claiming success for an intent Stripe says unpaid, or events out of order, move nothing wrongly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import stripe
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.formatting import plural
from marketplace.models import (
    CardPayment,
    CardPaymentStatus,
    Invoice,
    StripeRefund,
    WebhookEvent,
    WebhookOutcome,
    utcnow,
)
from marketplace.services import card_payments, stripe_gateway, stripe_refunds
from marketplace.services.errors import DomainError
from marketplace.services.locking import lock_row
from marketplace.services.stripe_settings import account_by_token

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
RECONCILE_AFTER = timedelta(hours=1)
HANDLED = ("payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded")


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


def _reject(provider_id: int | None, detail: str) -> Answer:
    db.session.add(
        WebhookEvent(provider_id=provider_id, outcome=WebhookOutcome.REJECTED, detail=detail[:300])
    )
    return Answer(400, "Refusé.")


def receive(token: str, payload: bytes, signature: str | None) -> Answer:
    """Check, store and act on one delivery (the view commits whatever the answer)."""
    account = account_by_token(token)
    if account is None:  # nobody's endpoint (a guess, a disconnected organisation): nothing to keep
        log.info("Webhook Stripe reçu sur un point de terminaison inconnu : refusé.")
        return Answer(400, "Refusé.")
    secret = stripe_gateway.webhook_secret(account) if account.webhook_secret_encrypted else None
    if not secret:
        return _reject(account.provider_id, "Aucun secret de signature enregistré pour cet organisme.")
    if not signature:
        return _reject(account.provider_id, "Requête sans signature Stripe.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError:
        return _reject(account.provider_id, "Signature invalide ou périmée.")
    except ValueError:
        return _reject(account.provider_id, "Contenu illisible.")
    event_id, event_type = str(event["id"])[:255], str(event["type"])[:100]
    obj = event["data"]["object"]
    object_id = str(_field(obj, "id") or "")[:255] or None
    known = db.session.scalar(
        select(WebhookEvent.id).where(
            WebhookEvent.provider_id == account.provider_id, WebhookEvent.event_id == event_id
        )
    )
    if known is not None:
        return Answer(200, "Déjà reçu.")
    row = WebhookEvent(
        provider_id=account.provider_id,
        event_id=event_id,
        event_type=event_type,
        object_id=object_id,
        outcome=WebhookOutcome.PROCESSED,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return Answer(200, "Déjà reçu.")  # the same event delivered twice at once: the other one acts
    if event_type not in HANDLED:
        row.outcome, row.detail = WebhookOutcome.IGNORED, "Type d'événement non traité."
        return Answer(200, "Ignoré.")
    try:
        with db.session.begin_nested():
            detail = _act(account, event_type, obj)
    except (stripe.StripeError, DomainError) as error:
        # Nothing of the processing is kept; the event is not stored as received, so Stripe's retry acts.
        message = stripe_gateway.french(error) if isinstance(error, stripe.StripeError) else error.message
        db.session.delete(row)
        db.session.add(
            WebhookEvent(
                provider_id=account.provider_id,
                event_type=event_type,
                object_id=object_id,
                outcome=WebhookOutcome.FAILED,
                detail=f"{event_id} : {message}"[:300],
            )
        )
        return Answer(500, "Erreur de traitement : Stripe renverra l'événement.")
    if detail is None:
        row.outcome, row.detail = WebhookOutcome.IGNORED, "Objet inconnu de cet organisme."
    else:
        row.detail = detail[:300]
    return Answer(200, "Reçu.")


def _act(account, event_type: str, obj) -> str | None:
    client = stripe_gateway.client(account)
    if event_type.startswith("payment_intent."):
        payment = _payment(account.provider_id, str(obj["id"])) or _adopt(account, client, str(obj["id"]))
        if payment is None:
            return None
        lock_row(Invoice.__table__, payment.invoice_id)
        db.session.refresh(payment)
        intent = client.v1.payment_intents.retrieve(payment.intent_id)
        outcome = card_payments.apply_intent(payment, intent, None)
        return f"Stripe indique « {intent.status} » : {outcome}."
    intent_id = _field(obj, "payment_intent")
    payment = _payment(account.provider_id, str(intent_id)) if intent_id else None
    if payment is None:
        return None
    refunds = db.session.scalars(select(StripeRefund).where(StripeRefund.payment_id == payment.id)).all()
    changed = sum(stripe_refunds.sync(refund, client) for refund in refunds)
    return f"{plural(changed, 'remboursement')} mis à jour."


def _adopt(account, client: stripe.StripeClient, intent_id: str) -> CardPayment | None:
    """A PaymentIntent we created but whose row was lost (the request failed after Stripe answered): taken
    back when Stripe says it is for one of this organisation's company invoices, for what it still owes."""
    if not intent_id.startswith("pi_"):
        return None
    intent = client.v1.payment_intents.retrieve(intent_id)
    raw_invoice = card_payments.meta(intent, "invoice_id") or ""
    if card_payments.meta(intent, "provider_id") != str(account.provider_id) or not raw_invoice.isdigit():
        return None
    invoice = db.session.get(Invoice, int(raw_invoice))
    if (
        invoice is None
        or invoice.provider_id != account.provider_id
        or invoice.status not in card_payments.PAYABLE
    ):
        return None
    lock_row(Invoice.__table__, invoice.id)
    amount = card_payments.open_amount(invoice)
    if int(intent.amount) != amount or (intent.currency or "").lower() != card_payments.CURRENCY:
        return None
    payment = CardPayment(
        invoice_id=invoice.id,
        provider_id=invoice.provider_id,
        company_id=invoice.company_id,
        intent_id=intent.id,
        idempotency_key=f"mp-adopted-{intent.id}"[:100],
        amount_cents=amount,
        currency=card_payments.CURRENCY,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def _field(obj, key: str):
    """A field of a Stripe object (not a dict: no ``.get``), None when absent."""
    try:
        return obj[key]
    except (KeyError, TypeError):
        return None


def _payment(provider_id: int, intent_id: str) -> CardPayment | None:
    return db.session.scalar(
        select(CardPayment).where(CardPayment.provider_id == provider_id, CardPayment.intent_id == intent_id)
    )


def failed_deliveries(limit: int = 100) -> list[tuple[WebhookEvent, str | None]]:
    """The operator's list: refused (signature) and failed deliveries with the organisation's name, newest
    first (no payload kept)."""
    from marketplace.models import Organisation

    rows = db.session.execute(
        select(WebhookEvent, Organisation.name)
        .outerjoin(Organisation, Organisation.id == WebhookEvent.provider_id)
        .where(WebhookEvent.outcome.in_((WebhookOutcome.REJECTED, WebhookOutcome.FAILED)))
        .order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc())
        .limit(limit)
    )
    return [(event, name) for event, name in rows]


# --- Reconciliation -------------------------------------------------------------------------------------

WAITING_FOR_CUSTOMER = ("requires_payment_method", "requires_confirmation", "requires_action")


def reconcile(now=None) -> int:
    """Re-check with Stripe every card payment still open an hour after it started (a lost webhook, a closed
    tab): apply Stripe's answer; one still waiting for the customer is cancelled and its invoice is back to
    « Émise ». Commits per payment. Returns how many invoices changed."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(CardPayment.id)
        .where(CardPayment.status == CardPaymentStatus.OPEN, CardPayment.created_at <= now - RECONCILE_AFTER)
        .order_by(CardPayment.id)
    ).all()
    changed = 0
    for payment_id in ids:
        payment = db.session.get(CardPayment, payment_id)
        lock_row(Invoice.__table__, payment.invoice_id)
        db.session.refresh(payment)
        account = card_payments.account_of(payment.provider_id)
        if payment.status != CardPaymentStatus.OPEN or account is None or not account.connected:
            db.session.commit()
            continue
        try:
            client = stripe_gateway.client(account)
            intent = client.v1.payment_intents.retrieve(payment.intent_id) if payment.intent_id else None
            outcome = card_payments.apply_intent(payment, intent, None) if intent is not None else "open"
            if outcome == "open" and (intent is None or intent.status in WAITING_FOR_CUSTOMER):
                if intent is not None:
                    card_payments.cancel_quietly(client, intent.id)
                invoice = db.session.get(Invoice, payment.invoice_id)
                card_payments.close_failed(
                    payment, invoice, "abandoned", "Paiement abandonné (sans réponse depuis une heure).", None
                )
                outcome = "failed"
        except (stripe.StripeError, DomainError):
            db.session.rollback()
            log.warning("Rapprochement Stripe impossible pour le paiement %s.", payment_id)
            continue
        db.session.commit()
        changed += outcome in ("paid", "failed")
    return changed
