"""OPCO: payment batches — choose validated invoices, build the batch and its SEPA file (pain.001),
download it (the transfer is then ordered), mark the batch paid."""

from __future__ import annotations

from flask import g, request, url_for
from flask_login import current_user

from marketplace.blueprints.opco.invoice_forms import BatchForm
from marketplace.blueprints.opco.routes import bp
from marketplace.models import PaymentBatch
from marketplace.services import invoice_control_pages, payments
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.downloads import xml_response
from marketplace.web.guard import get_owned, require
from marketplace.web.params import int_list, page_arg


def _batch(batch_id: int) -> PaymentBatch:
    return get_owned(PaymentBatch, batch_id, column="opco_id")


def _batches_page(form: BatchForm | None = None):
    return render(
        "opco/payments/list.html",
        form=form or BatchForm(formdata=None),
        batches=invoice_control_pages.batches(g.org.id, page_arg()),
        payable=invoice_control_pages.payable(g.org.id, page_arg("a-payer")),
        account_ready=invoice_control_pages.opco_account_ready(g.org),
    )


@bp.get("/paiements")
@require(Perm.CONTROL_DELIVERY)
def payment_batches():
    return _batches_page()


@bp.post("/paiements")
@require(Perm.CONTROL_DELIVERY)
def create_payment_batch():
    form = BatchForm()
    ids = int_list(request.form.getlist("invoice_ids"))
    return submit(
        form,
        lambda: payments.create_batch(g.org, current_user, ids, form.execution_date.data),
        page=lambda: _batches_page(form),
        done=lambda batch: url_for("opco.payment_batch", payment_batch_id=batch.id),
        message=lambda batch: f"Lot {batch.reference} créé : téléchargez le fichier de virement SEPA.",
    )


@bp.get("/paiements/<int:payment_batch_id>")
@require(Perm.CONTROL_DELIVERY)
def payment_batch(payment_batch_id: int):
    batch = _batch(payment_batch_id)
    return render(
        "opco/payments/detail.html", batch=batch, invoices=invoice_control_pages.batch_invoices(batch)
    )


@bp.post("/paiements/<int:payment_batch_id>/fichier-sepa")
@require(Perm.CONTROL_DELIVERY)
def download_sepa(payment_batch_id: int):
    batch = _batch(payment_batch_id)
    return perform(
        lambda: payments.export_file(batch, current_user, g.org),
        done=lambda exported: xml_response(exported[1], exported[0]),
        failed=url_for("opco.payment_batch", payment_batch_id=payment_batch_id),
    )


@bp.post("/paiements/<int:payment_batch_id>/payer")
@require(Perm.CONTROL_DELIVERY)
def mark_batch_paid(payment_batch_id: int):
    batch = _batch(payment_batch_id)
    return perform(
        lambda: payments.mark_paid(batch, current_user, g.org),
        done=url_for("opco.payment_batch", payment_batch_id=payment_batch_id),
        message="Lot marqué payé : chaque facture est payée et les organismes sont prévenus.",
    )
