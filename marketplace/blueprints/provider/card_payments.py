"""Training organisation: « Paiement par carte » (its own Stripe account: keys, endpoint URL, disconnection),
a company's transfer marked received by hand, and the receipt of a paid invoice."""

from __future__ import annotations

from flask import abort, g, url_for
from flask_login import current_user
from wtforms import DateField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from marketplace.blueprints.provider.routes import bp
from marketplace.models import Invoice
from marketplace.services import card_payment_pages, card_payments, stripe_settings
from marketplace.services.roles import Perm
from marketplace.web.actions import perform, render, submit
from marketplace.web.downloads import pdf_response
from marketplace.web.forms import REQUIRED, Form
from marketplace.web.guard import get_owned, require

DATE_MESSAGE = "Indiquez une date valide (jj/mm/aaaa)."


class StripeForm(Form):
    publishable_key = StringField(
        "Clé publiable",
        description="Tableau de bord Stripe → Développeurs → Clés API : pk_test_… ou pk_live_….",
        validators=[Length(max=255)],
    )
    secret_key = PasswordField(
        "Clé secrète restreinte",
        description="Créez une clé restreinte avec les droits « PaymentIntents » et « Refunds » en écriture et "
        "« Balance » en lecture (rk_…). Laissez vide pour garder la clé enregistrée.",
        validators=[Length(max=255)],
    )
    webhook_secret = PasswordField(
        "Secret de signature du webhook",
        description="Affiché par Stripe après l'ajout du point de terminaison indiqué plus haut (whsec_…). "
        "Laissez vide pour garder le secret enregistré.",
        validators=[Length(max=255)],
    )


class TransferForm(Form):
    received_on = DateField("Reçu le", validators=[DataRequired(DATE_MESSAGE)])
    reference = StringField(
        "Référence du virement",
        description="Le libellé ou la référence lus sur votre relevé.",
        validators=[DataRequired(REQUIRED), Length(max=100)],
    )


def _settings_page(form):
    return render("provider/card_payments/settings.html", form=form, **card_payment_pages.settings(g.org.id))


@bp.route("/paiement-carte", methods=["GET", "POST"])
@require(Perm.MANAGE_MEMBERS)
def stripe_settings_page():
    form = StripeForm()
    return submit(
        form,
        lambda: stripe_settings.connect(
            g.org, current_user, form.publishable_key.data, form.secret_key.data, form.webhook_secret.data
        ),
        page=lambda: _settings_page(form),
        done=url_for("provider.stripe_settings_page"),
        message="Compte Stripe enregistré : Stripe a accepté la clé. Les entreprises peuvent payer par carte.",
    )


@bp.post("/paiement-carte/deconnecter")
@require(Perm.MANAGE_MEMBERS)
def stripe_disconnect():
    return perform(
        lambda: stripe_settings.disconnect(g.org, current_user),
        done=url_for("provider.stripe_settings_page"),
        message="Compte Stripe déconnecté : les entreprises ne voient plus que le virement bancaire.",
    )


@bp.route("/factures/<int:invoice_id>/virement-recu", methods=["GET", "POST"])
@require(Perm.INVOICE)
def transfer_received(invoice_id: int):
    invoice = get_owned(Invoice, invoice_id, column="provider_id")
    form = TransferForm()
    return submit(
        form,
        lambda: card_payments.mark_transfer_received(
            invoice, current_user, form.received_on.data, form.reference.data
        ),
        page=lambda: render("provider/card_payments/transfer.html", invoice=invoice, form=form),
        done=url_for("provider.invoice_detail", invoice_id=invoice_id),
        message="Virement enregistré : la facture est payée, l'entreprise est prévenue.",
    )


@bp.get("/factures/<int:paid_invoice_id>/acquittee.pdf")
@require(Perm.INVOICE)
def invoice_receipt(paid_invoice_id: int):
    invoice = get_owned(Invoice, paid_invoice_id, column="provider_id")
    if not invoice.receipt_storage_key:
        abort(404)
    return pdf_response(f"facture-acquittee-{invoice.number}.pdf", card_payments.receipt_bytes(invoice))
