"""Training organisation: its invoices (list, detail, issue, credit note, PDF, accountants' export) and the
« Préparer les factures » button of a delivered session."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_login import current_user
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.blueprints.provider.routes import bp
from marketplace.models import Invoice, InvoiceStatus, Payer, TrainingSession
from marketplace.models.limits import REASON
from marketplace.services import card_payment_pages, invoice_pages, invoicing
from marketplace.services.roles import Perm
from marketplace.web.actions import download, perform, render, submit
from marketplace.web.downloads import pdf_response
from marketplace.web.forms import REQUIRED, Form
from marketplace.web.guard import get_owned, require
from marketplace.web.params import page_arg


class CreditForm(Form):
    reason = TextAreaField("Motif de l'avoir", validators=[DataRequired(REQUIRED), Length(max=REASON)])
    amount = StringField(
        "Montant HT à créditer (€)",
        description="Laissez vide pour créditer tout ce qui reste de la facture (elle est alors annulée).",
        validators=[Optional(), Length(max=20)],
    )


def _owned(invoice_id: int) -> Invoice:
    return get_owned(Invoice, invoice_id, column="provider_id")


@bp.get("/factures")
@require(Perm.INVOICE)
def invoices():
    status = request.args.get("etat", "")
    payer = request.args.get("payeur", "")
    args = {k: v for k, v in (("etat", status), ("payeur", payer)) if v}
    return render(
        "provider/invoices/list.html",
        result=invoice_pages.invoice_list("provider", g.org.id, status=status, payer=payer, page=page_arg()),
        to_prepare=invoice_pages.delivered_without_invoices(g.org.id),
        statuses=InvoiceStatus.LABELS,
        payers=Payer.LABELS,
        selected_status=status,
        payer=payer,
        args=args,
    )


@bp.get("/factures/<int:invoice_id>")
@require(Perm.INVOICE)
def invoice_detail(invoice_id: int):
    invoice = _owned(invoice_id)
    return render(
        "provider/invoices/detail.html",
        invoice=invoice,
        form=CreditForm(formdata=None),
        payment=card_payment_pages.invoice_payment(invoice),
        **invoice_pages.detail(invoice),
    )


@bp.post("/sessions/<int:session_id>/factures/preparer")
@require(Perm.INVOICE)
def prepare_invoices(session_id: int):
    session = get_owned(TrainingSession, session_id, column="provider_id")
    return perform(
        lambda: invoicing.draft_for_session(session, current_user),
        done=url_for("provider.invoices"),
        message=invoice_pages.prepared_message,
        failed=url_for("provider.invoices"),
    )


@bp.post("/factures/<int:invoice_id>/emettre")
@require(Perm.INVOICE)
def issue_invoice(invoice_id: int):
    invoice = _owned(invoice_id)
    back = url_for("provider.invoice_detail", invoice_id=invoice_id)
    return perform(
        lambda: invoicing.issue(invoice, current_user),
        done=back,
        message=lambda issued: f"Facture {issued.number} émise.",
        failed=back,
    )


@bp.route("/factures/<int:invoice_id>/avoir", methods=["GET", "POST"])
@require(Perm.INVOICE)
def credit_invoice(invoice_id: int):
    invoice = _owned(invoice_id)
    form = CreditForm()

    return submit(
        form,
        lambda: invoicing.credit_as_typed(invoice, current_user, form.reason.data, form.amount.data),
        page=lambda: render(
            "provider/invoices/credit.html", invoice=invoice, form=form, **invoice_pages.detail(invoice)
        ),
        done=lambda note: url_for("provider.invoice_detail", invoice_id=note.id),
        message=lambda note: f"Avoir {note.number} émis.",
    )


@bp.get("/factures/<int:invoice_id>/pdf")
@require(Perm.INVOICE)
def invoice_pdf(invoice_id: int):
    invoice = _owned(invoice_id)
    if not invoice.storage_key:
        abort(404)
    return pdf_response(invoice_pages.pdf_filename(invoice), invoice_pages.pdf_bytes(invoice))


@bp.get("/factures/export.csv")
@require(Perm.INVOICE)
def invoices_export_csv():
    return download(invoice_pages.InvoicesExport(g.org.id), "csv")


@bp.get("/factures/export.xlsx")
@require(Perm.INVOICE)
def invoices_export_xlsx():
    return download(invoice_pages.InvoicesExport(g.org.id), "xlsx")
