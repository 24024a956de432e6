"""Read models of the payment pages: the organisation's Stripe settings, what a company sees to pay an invoice
(card when the organisation connected Stripe, its confirmed IBAN for a transfer otherwise), the payments and
refunds of an invoice, and the operator's list of failed webhook deliveries."""

from __future__ import annotations

from flask import current_app, url_for
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import CardPayment, Invoice, InvoiceStatus, Payer, TrainingProvider
from marketplace.services import card_payments, stripe_refunds
from marketplace.services.bank_details import mask
from marketplace.services.stripe_settings import account_of


def endpoint_url(token: str) -> str:
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return base + url_for("public.stripe_webhook", token=token)


def settings(provider_id: int) -> dict:
    account = account_of(provider_id)
    return {
        "account": account,
        "endpoint": endpoint_url(account.webhook_token) if account is not None else None,
    }


def transfer_details(provider_id: int) -> dict | None:
    """The organisation's confirmed account (services.bank_details), for a company paying by transfer."""
    provider = db.session.get(TrainingProvider, provider_id)
    if not provider.iban:
        return None
    return {"holder": provider.account_holder, "iban": provider.iban, "bic": provider.bic}


def invoice_payment(invoice: Invoice) -> dict:
    """What an invoice's page says about paying it (both sides)."""
    payable = invoice.payer == Payer.COMPANY and invoice.kind == "invoice"
    if not payable:
        return {"payable": False}
    account = account_of(invoice.provider_id)
    payments = list(
        db.session.scalars(
            select(CardPayment).where(CardPayment.invoice_id == invoice.id).order_by(CardPayment.id.desc())
        )
    )
    return {
        "payable": True,
        "card_open": account is not None and account.connected,
        "open_cents": card_payments.open_amount(invoice),
        "awaiting": invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAYMENT_PENDING),
        "transfer": transfer_details(invoice.provider_id),
        "payments": payments,
        "last_failure": payments[0].failure_message if payments and payments[0].status == "failed" else None,
        "refunds": stripe_refunds.refunds_of(invoice.id),
        "masked": mask,
    }


def pay_page(invoice: Invoice) -> dict:
    account = account_of(invoice.provider_id)
    return {
        **invoice_payment(invoice),
        "publishable_key": account.publishable_key if account is not None and account.connected else None,
        "stripe_js_url": current_app.config["STRIPE_JS_URL"],
    }
