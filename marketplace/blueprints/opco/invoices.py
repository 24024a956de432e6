"""OPCO: control of its invoices (R6332-26) — queue with automatic checks, one invoice's control page,
requests for documents, validation (possibly partial), rejection, bulk validation; payment settings."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.invoice_forms import (
    InfoRequestForm,
    PaymentSettingsForm,
    RejectForm,
    ValidateForm,
)
from marketplace.blueprints.opco.routes import bp
from marketplace.models import Invoice, InvoiceStatus, Payer
from marketplace.services import invoice_control, invoice_control_pages, payment_settings
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_list, page_arg


def _invoice(invoice_id: int) -> Invoice:
    """One of the OPCO's own invoices (addressed to it); a company's invoice it funds is not its to control."""
    invoice = get_owned(Invoice, invoice_id, column="opco_id")
    if invoice.payer != Payer.OPCO:
        abort(404)
    return invoice


def _queue_page():
    state = invoice_control_pages.clean_filter(request.args.get("statut"))
    sampled = request.args.get("tirees") == "1"
    return render(
        "opco/invoices/queue.html",
        state=state,
        sampled=sampled,
        filters=invoice_control_pages.QUEUE_FILTERS,
        counts=invoice_control_pages.counts(g.org.id),
        issued=invoice_control_pages.issued_count(g.org.id),
        result=invoice_control_pages.queue(g.org.id, state, sampled, page_arg()),
    )


@bp.get("/factures")
@require(Perm.CONTROL_DELIVERY)
def invoice_queue():
    return _queue_page()


@bp.post("/factures/prendre-en-controle")
@require(Perm.CONTROL_DELIVERY)
def take_invoices():
    return perform(
        lambda: invoice_control.take_issued(g.org, current_user),
        done=url_for("opco.invoice_queue"),
        message=lambda n: (
            f"{n} facture(s) prise(s) en contrôle ; les factures tirées au sort sont signalées."
        ),
    )


@bp.post("/factures/valider-en-lot")
@require(Perm.CONTROL_DELIVERY)
def validate_invoices():
    ids = int_list(request.form.getlist("invoice_ids"))
    return perform(
        lambda: invoice_control.validate_checked(ids, current_user, g.org),
        done=url_for("opco.invoice_queue"),
        message=lambda n: f"{n} facture(s) validée(s) (bon à payer).",
    )


def _control_page(invoice: Invoice, **forms):
    return render(
        "opco/invoices/control.html",
        data=invoice_control_pages.control_page(invoice),
        statuses=InvoiceStatus,
        info_form=forms.get("info_form") or InfoRequestForm(formdata=None),
        validate_form=forms.get("validate_form") or ValidateForm(formdata=None),
        reject_form=forms.get("reject_form") or RejectForm(formdata=None),
    )


@bp.get("/factures/<int:opco_invoice_id>")
@require(Perm.CONTROL_DELIVERY)
def invoice_control_page(opco_invoice_id: int):
    return _control_page(_invoice(opco_invoice_id))


@bp.post("/factures/<int:opco_invoice_id>/prendre-en-controle")
@require(Perm.CONTROL_DELIVERY)
def start_invoice_control(opco_invoice_id: int):
    invoice = _invoice(opco_invoice_id)
    done = url_for("opco.invoice_control_page", opco_invoice_id=opco_invoice_id)
    return perform(
        lambda: invoice_control.start_control(invoice, current_user, g.org),
        done=done,
        message=lambda i: (
            "Facture prise en contrôle"
            + (" : elle est tirée au sort pour un contrôle manuel." if i.sampled else ".")
        ),
    )


@bp.post("/factures/<int:opco_invoice_id>/complements")
@require(Perm.CONTROL_DELIVERY)
def request_invoice_info(opco_invoice_id: int):
    invoice = _invoice(opco_invoice_id)
    form = InfoRequestForm()
    return submit(
        form,
        lambda: invoice_control.request_info(
            invoice, current_user, g.org, form.info_request.data, form.info_deadline.data
        ),
        page=lambda: _control_page(invoice, info_form=form),
        done=url_for("opco.invoice_control_page", opco_invoice_id=opco_invoice_id),
        message="Compléments demandés : l'organisme de formation est prévenu par courriel.",
    )


@bp.post("/factures/<int:opco_invoice_id>/valider")
@require(Perm.CONTROL_DELIVERY)
def validate_invoice(opco_invoice_id: int):
    invoice = _invoice(opco_invoice_id)
    form = ValidateForm()

    def action():
        amount = invoice_control.parse_amount(form.validated_amount.data)
        return invoice_control.validate(invoice, current_user, g.org, amount, form.adjustment_reason.data)

    return submit(
        form,
        action,
        page=lambda: _control_page(invoice, validate_form=form),
        done=url_for("opco.invoice_control_page", opco_invoice_id=opco_invoice_id),
        message="Facture validée (bon à payer) : l'organisme de formation est prévenu.",
    )


@bp.post("/factures/<int:opco_invoice_id>/rejeter")
@require(Perm.CONTROL_DELIVERY)
def reject_invoice(opco_invoice_id: int):
    invoice = _invoice(opco_invoice_id)
    form = RejectForm()
    return submit(
        form,
        lambda: invoice_control.reject(invoice, current_user, g.org, form.rejection_reason.data),
        page=lambda: _control_page(invoice, reject_form=form),
        done=url_for("opco.invoice_control_page", opco_invoice_id=opco_invoice_id),
        message="Facture rejetée : l'organisme de formation reçoit le motif par courriel.",
    )


@bp.route("/factures/parametres", methods=["GET", "POST"])
@require(Perm.CONTROL_DELIVERY)
def payment_settings_page():
    form = PaymentSettingsForm(obj=g.org)
    return submit(
        form,
        lambda: payment_settings.update(
            g.org,
            current_user,
            form.control_sampling_pct.data,
            form.payer_iban.data,
            form.payer_bic.data,
            form.payer_account_holder.data,
            billing={
                "siret": form.siret.data,
                "address": form.billing_address.data,
                "postal_code": form.billing_postal_code.data,
                "city": form.billing_city.data,
                "vat": form.vat_number.data,
            },
        ),
        page=lambda: render("opco/invoices/settings.html", form=form),
        done=url_for("opco.payment_settings_page"),
        message="Paramètres du contrôle et du paiement enregistrés.",
    )
