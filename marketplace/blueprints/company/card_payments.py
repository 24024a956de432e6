"""Company: pay an invoice by card (Stripe.js card form on the training organisation's Stripe account), the
result page waiting for Stripe's answer, and the receipt (« acquittée ») once paid. The amount is never read
from the browser: only the card's payment method id Stripe.js returns."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, g, jsonify, request, url_for
from flask_login import current_user

from marketplace.blueprints.company.invoices import issued_invoice
from marketplace.blueprints.company.routes import bp
from marketplace.services import card_payment_pages, card_payments
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render
from marketplace.web.downloads import pdf_response
from marketplace.web.guard import require


@bp.get("/factures/<int:invoice_id>/payer")
@require(Perm.PAY)
def pay_invoice(invoice_id: int):
    invoice = issued_invoice(invoice_id)
    # Stripe requires Stripe.js from its own server: the one script origin the CSP admits, on this page only.
    parts = urlsplit(current_app.config["STRIPE_JS_URL"])
    g.csp_extra_origin = f"{parts.scheme}://{parts.netloc}"
    return render("company/card_payments/pay.html", invoice=invoice, **card_payment_pages.pay_page(invoice))


@bp.post("/factures/<int:invoice_id>/payer")
@require(Perm.PAY)
def start_card_payment(invoice_id: int):
    invoice = issued_invoice(invoice_id)
    result_url = url_for("company.card_payment_result", invoice_id=invoice_id)
    return perform(
        lambda: card_payments.start(invoice, current_user, request.form.get("payment_method")),
        done=lambda r: jsonify(next=result_url, client_secret=r["client_secret"], status=r["status"]),
        failed=lambda error: jsonify(next=url_for("company.pay_invoice", invoice_id=invoice_id)),
    )


@bp.get("/factures/<int:invoice_id>/paiement")
@require(Perm.PAY)
def card_payment_result(invoice_id: int):
    invoice = issued_invoice(invoice_id)
    return render(
        "company/card_payments/result.html", invoice=invoice, **card_payment_pages.invoice_payment(invoice)
    )


@bp.post("/factures/<int:invoice_id>/paiement/verifier")
@require(Perm.PAY)
def check_card_payment(invoice_id: int):
    invoice = issued_invoice(invoice_id)
    page = url_for("company.card_payment_result", invoice_id=invoice_id)
    return perform(
        lambda: card_payments.refresh(invoice, current_user),
        done=lambda _payment: render(
            "company/card_payments/result.html",
            fragment="company/card_payments/_status.html",
            invoice=issued_invoice(invoice_id),
            **card_payment_pages.invoice_payment(issued_invoice(invoice_id)),
        ),
        failed=page,
    )


@bp.get("/factures/<int:paid_invoice_id>/acquittee.pdf")
@require(Perm.PAY)
def invoice_receipt(paid_invoice_id: int):
    invoice = issued_invoice(paid_invoice_id)
    if not invoice.receipt_storage_key:
        abort(404)
    return pdf_response(f"facture-acquittee-{invoice.number}.pdf", card_payments.receipt_bytes(invoice))
