"""Training organisation: its bank details (« Coordonnées bancaires ») where the OPCO's transfers go, and
the answer to an OPCO's request for documents on an invoice (partial included in the invoice pages)."""

from __future__ import annotations

from flask import abort, g, url_for
from flask_login import current_user
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from marketplace.blueprints.provider.routes import bp
from marketplace.services import bank_details, invoice_control, invoice_control_pages
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.forms import Form
from marketplace.web.guard import require


class BankForm(Form):
    iban = StringField(
        "IBAN", validators=[Length(max=42)], description="Par exemple FR76 3000 6000 0112 3456 7890 189."
    )
    bic = StringField(
        "BIC", validators=[Length(max=11)], description="Facultatif pour un IBAN français : il en est déduit."
    )
    account_holder = StringField("Titulaire du compte", validators=[Length(max=70)])


class AnswerForm(Form):
    message = TextAreaField(
        "Votre réponse à l'OPCO",
        validators=[Length(max=2000)],
        description="Indiquez ce que vous avez transmis ou corrigé (émargements, certificats déposés…).",
    )


@bp.route("/coordonnees-bancaires", methods=["GET", "POST"])
@require(Perm.INVOICE)
def bank_details_page():
    form = BankForm()
    return submit(
        form,
        lambda: bank_details.request_change(
            g.org, current_user, form.iban.data, form.bic.data, form.account_holder.data
        ),
        page=lambda: render("provider/bank/details.html", form=form, masked=bank_details.mask),
        done=url_for("provider.bank_details_page"),
        message="Coordonnées enregistrées en attente : un administrateur de l'organisme doit les confirmer "
        "par le lien reçu par courriel (valable 24 heures).",
    )


@bp.get("/coordonnees-bancaires/confirmer/<token>")
@require(Perm.MANAGE_MEMBERS)
def confirm_bank_details(token: str):
    return render(
        "provider/bank/confirm.html",
        token=token,
        valid=bank_details.pending_for(g.org, token),
        masked=bank_details.mask,
    )


@bp.post("/coordonnees-bancaires/confirmer/<token>")
@require(Perm.MANAGE_MEMBERS)
def apply_bank_details(token: str):
    return perform(
        lambda: bank_details.confirm_change(g.org, current_user, token),
        done=url_for("provider.bank_details_page"),
        message="Nouvelles coordonnées bancaires confirmées : les prochains virements de l'OPCO y seront faits.",
    )


def _answer_page(invoice, form):
    return render("provider/invoices/answer.html", invoice=invoice, answer_form=form)


@bp.route("/factures/<int:invoice_id>/reponse-opco", methods=["GET", "POST"])
@require(Perm.INVOICE)
def answer_invoice_request(invoice_id: int):
    invoice = invoice_control_pages.provider_invoice(g.org.id, invoice_id)
    if invoice is None:
        abort(404)
    form = AnswerForm()
    return submit(
        form,
        lambda: invoice_control.answer(invoice, current_user, form.message.data, g.org.id),
        page=lambda: _answer_page(invoice, form),
        done=url_for("provider.answer_invoice_request", invoice_id=invoice_id),
        message="Réponse transmise : la facture repart en contrôle chez l'OPCO.",
    )
