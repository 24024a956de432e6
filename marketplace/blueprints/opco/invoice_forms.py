"""Forms of the OPCO's invoice control, payment batches and payment settings."""

from __future__ import annotations

from wtforms import DateField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from marketplace.web.forms import Form


class InfoRequestForm(Form):
    info_request = TextAreaField(
        "Pièces ou informations demandées",
        description="Transmis à l'organisme de formation par courriel (feuilles d'émargement, certificats…).",
        validators=[Length(max=2000)],
    )
    info_deadline = DateField(
        "Date limite de réponse",
        validators=[InputRequired("Indiquez une date limite de réponse.")],
        description="Au format jj/mm/aaaa ; la facture attend la réponse de l'organisme.",
    )


class ValidateForm(Form):
    validated_amount = StringField(
        "Montant validé (€ TTC)",
        description="Laissez vide pour valider le total de la facture ; un montant inférieur demande un motif.",
        validators=[Length(max=20)],
    )
    adjustment_reason = TextAreaField("Motif de l'ajustement", validators=[Length(max=500)])


class RejectForm(Form):
    rejection_reason = TextAreaField(
        "Motif du rejet",
        description="Transmis à l'organisme de formation, qui corrige par un avoir.",
        validators=[Length(max=500)],
    )


class BatchForm(Form):
    execution_date = DateField("Date d'exécution du virement", validators=[Optional()])


class PaymentSettingsForm(Form):
    control_sampling_pct = IntegerField(
        "Taux de contrôle manuel (%)",
        validators=[
            InputRequired("Indiquez un pourcentage entre 0 et 100."),
            NumberRange(0, 100, "Indiquez un pourcentage entre 0 et 100."),
        ],
        description="Part des factures tirées au sort pour un contrôle manuel ; les autres sont vérifiées "
        "automatiquement et peuvent être validées en lot.",
    )
    payer_iban = StringField("IBAN du compte à débiter", validators=[Length(max=42)])
    payer_bic = StringField("BIC", validators=[Length(max=11)])
    payer_account_holder = StringField("Titulaire du compte", validators=[Length(max=70)])
    siret = StringField("SIRET de l'OPCO", validators=[Length(max=17)])
    billing_address = StringField("Adresse de facturation", validators=[Length(max=300)])
    billing_postal_code = StringField("Code postal", validators=[Length(max=5)])
    billing_city = StringField("Commune", validators=[Length(max=120)])
    vat_number = StringField("N° de TVA intracommunautaire", validators=[Length(max=20)])
