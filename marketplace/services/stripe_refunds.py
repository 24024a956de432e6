"""Refunds through Stripe: a credit note on an invoice paid by card gives the money back on the card, for the
credit note's amount TTC (full or partial), once — the idempotency key is the credit note's id, and a
credit note has at most one refund row. A refusal by Stripe leaves the credit note issued and the refund
« refusé » with its reason in French, for the organisation to settle otherwise; the company is told either way.
"""

from __future__ import annotations

import stripe
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    CardPayment,
    CardPaymentStatus,
    Invoice,
    RefundStatus,
    StripeRefund,
    User,
)
from marketplace.services import audit, outbox, stripe_gateway
from marketplace.services.roles import Perm
from marketplace.services.stripe_settings import account_of


def paid_by_card(invoice: Invoice) -> CardPayment | None:
    return db.session.scalar(
        select(CardPayment).where(
            CardPayment.invoice_id == invoice.id, CardPayment.status == CardPaymentStatus.SUCCEEDED
        )
    )


def refund_credit_note(note: Invoice, invoice: Invoice, actor: User | None) -> StripeRefund | None:
    """Refund ``note`` (just issued on ``invoice``) on the card that paid it; None when not paid by card."""
    payment = paid_by_card(invoice)
    if payment is None:
        return None
    existing = db.session.scalar(select(StripeRefund).where(StripeRefund.credit_note_id == note.id))
    if existing is not None:
        return existing
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(StripeRefund.amount_cents), 0)).where(
            StripeRefund.payment_id == payment.id, StripeRefund.status != RefundStatus.FAILED
        )
    )
    amount = min(note.total_ttc_cents, payment.amount_cents - int(refunded or 0))
    if amount <= 0:
        return None
    refund = StripeRefund(
        payment_id=payment.id, credit_note_id=note.id, provider_id=invoice.provider_id, amount_cents=amount
    )
    db.session.add(refund)
    account = account_of(invoice.provider_id)
    try:
        answer = stripe_gateway.client(account).v1.refunds.create(
            {
                "payment_intent": payment.intent_id,
                "amount": amount,
                "metadata": {"credit_note_id": str(note.id), "invoice_id": str(invoice.id)},
            },
            {"idempotency_key": f"mp-refund-credit-note-{note.id}"},
        )
        refund.refund_id = answer.id
        _set_status(refund, answer)
    except stripe.StripeError as error:
        refund.status = RefundStatus.FAILED
        refund.failure_message = stripe_gateway.french(error)[:300]
    except Exception as error:  # noqa: BLE001 - no key any more (disconnected): said, not raised
        refund.status = RefundStatus.FAILED
        refund.failure_message = str(getattr(error, "message", "Stripe n'est plus connecté."))[:300]
    db.session.flush()
    audit.record(
        "invoice.refund",
        organisation_id=invoice.provider_id,
        actor=actor,
        obj=invoice,
        data={"credit_note": note.number, "amount_cents": amount, "status": refund.status},
    )
    from marketplace.services.accounts import member_emails

    for email in sorted(member_emails([invoice.company_id], "company", Perm.PAY).get(invoice.company_id, [])):
        outbox.queue_email(
            email,
            "invoice_refunded",
            organisation_id=invoice.company_id,
            invoice=invoice,
            note=note,
            refund=refund,
        )
    return refund


def _set_status(refund: StripeRefund, answer) -> None:
    status = answer.status
    if status == "succeeded":
        refund.status = RefundStatus.SUCCEEDED
    elif status in ("failed", "canceled"):
        refund.status = RefundStatus.FAILED
        refund.failure_message = "Stripe n'a pas pu rembourser la carte (carte expirée ou fermée)."
    else:
        refund.status = RefundStatus.PENDING


def sync(refund: StripeRefund, client: stripe.StripeClient) -> bool:
    """Re-read a pending refund from Stripe (charge.refunded webhook); True when its state changed."""
    if refund.refund_id is None or refund.status != RefundStatus.PENDING:
        return False
    before = refund.status
    _set_status(refund, client.v1.refunds.retrieve(refund.refund_id))
    return refund.status != before


def refunds_of(invoice_id: int) -> list[StripeRefund]:
    return list(
        db.session.scalars(
            select(StripeRefund)
            .join(CardPayment, CardPayment.id == StripeRefund.payment_id)
            .where(CardPayment.invoice_id == invoice_id)
            .order_by(StripeRefund.id)
        )
    )
