"""Company: the invoices it was sent by training organisations (its remainder, any indemnité de dédit) —
list, detail, PDF. Another company's invoice, an OPCO's or a draft: 404."""

from __future__ import annotations

from flask import abort, g, request

from marketplace.blueprints.company.routes import bp
from marketplace.models import Invoice, InvoiceStatus
from marketplace.services import card_payment_pages, invoice_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import render
from marketplace.web.downloads import pdf_response
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg


def issued_invoice(invoice_id: int) -> Invoice:
    """One of this company's invoices, once issued (a draft is still the organisation's: 404 as if missing)."""
    invoice = get_owned(Invoice, invoice_id, column="company_id")
    if invoice.status == InvoiceStatus.DRAFT:
        abort(404)
    return invoice


@bp.get("/factures")
@require(Perm.PAY)
def invoices():
    status = request.args.get("etat", "")
    return render(
        "company/invoices/list.html",
        result=invoice_pages.invoice_list("company", g.org.id, status=status, page=page_arg()),
        statuses={k: v for k, v in InvoiceStatus.LABELS.items() if k != InvoiceStatus.DRAFT},
        selected_status=status,
        args={"etat": status} if status else {},
    )


@bp.get("/factures/<int:invoice_id>")
@require(Perm.PAY)
def invoice_detail(invoice_id: int):
    invoice = issued_invoice(invoice_id)
    return render(
        "company/invoices/detail.html",
        invoice=invoice,
        payment=card_payment_pages.invoice_payment(invoice),
        **invoice_pages.detail(invoice),
    )


@bp.get("/factures/<int:invoice_id>/pdf")
@require(Perm.PAY)
def invoice_pdf(invoice_id: int):
    invoice = issued_invoice(invoice_id)
    return pdf_response(invoice_pages.pdf_filename(invoice), invoice_pages.pdf_bytes(invoice))
