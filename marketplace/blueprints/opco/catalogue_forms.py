"""Forms of the OPCO catalogue: an action (with one share field per size band) and a referencing.

Numbers are text fields on purpose: the service reads French input (« 10,5 », « 1 200,50 ») and reports
its errors on these fields.
"""

from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.blueprints.auth.forms import MultiCheckboxField
from marketplace.services.action_input import share_field
from marketplace.services.identifiers import SIZE_BANDS
from marketplace.web.forms import REQUIRED, Form

DATE_MESSAGE = "Indiquez une date valide (jj/mm/aaaa)."
LONG_TEXT = Length(max=10_000, message="Ce texte ne peut pas dépasser 10 000 caractères.")


class ActionForm(Form):
    title = StringField(
        "Intitulé",
        validators=[
            DataRequired(REQUIRED),
            Length(max=200, message="L'intitulé ne peut pas dépasser 200 caractères."),
        ],
    )
    reference = StringField(
        "Référence",
        description="Code interne unique dans votre catalogue, par exemple AC-2026-012.",
        validators=[
            DataRequired(REQUIRED),
            Length(max=40, message="La référence ne peut pas dépasser 40 caractères."),
        ],
    )
    theme_code = SelectField(
        "Thème (groupe NSF)",
        validators=[DataRequired("Choisissez un thème dans la liste.")],
        invalid_choice_message="Choisissez un thème dans la liste.",
    )
    modality = SelectField(
        "Modalité",
        validators=[DataRequired("Choisissez une modalité.")],
        invalid_choice_message="Choisissez une modalité.",
    )
    duration_hours = StringField(
        "Durée (en heures)", description="Par exemple 14 ou 10,5.", validators=[DataRequired(REQUIRED)]
    )
    campaign_year = SelectField(
        "Année de campagne",
        validators=[DataRequired(REQUIRED)],
        invalid_choice_message="Choisissez une année de campagne dans la liste.",
    )
    objectives = TextAreaField(
        "Objectifs", description="Obligatoires pour publier l'action.", validators=[Optional(), LONG_TEXT]
    )
    programme = TextAreaField("Programme", validators=[Optional(), LONG_TEXT])
    prerequisites = TextAreaField("Prérequis", validators=[Optional(), LONG_TEXT])
    target_public = TextAreaField("Public visé", validators=[Optional(), LONG_TEXT])
    assessment_method = TextAreaField(
        "Modalités d'évaluation",
        description="Comment les acquis sont évalués (quiz, mise en situation…) : elles figurent sur la convocation.",
        validators=[Optional(), LONG_TEXT],
    )

    scope = RadioField(
        "Périmètre géographique",
        choices=[
            SelectChoice("national", "Nationale (toutes les régions)"),
            SelectChoice("regional", "Régionale (régions cochées)"),
        ],
        default="national",
        validators=[InputRequired("Indiquez si l'action est nationale ou régionale.")],
        invalid_choice_message="Indiquez si l'action est nationale ou régionale.",
    )
    region_codes = MultiCheckboxField(
        "Régions où l'action est ouverte", invalid_choice_message="Une des régions cochées n'existe pas."
    )
    idcc_codes = MultiCheckboxField(
        "Branches éligibles (IDCC)",
        description="Ne cochez rien pour ouvrir l'action à toutes les branches de votre OPCO.",
        invalid_choice_message="Cochez des branches couvertes par votre OPCO.",
    )

    price = StringField(
        "Prix négocié par stagiaire (€ HT)",
        description="Prix plafond ; un organisme référencé peut pratiquer un prix inférieur. Par exemple 1 200,50.",
        validators=[DataRequired(REQUIRED)],
    )
    cap_per_company_per_session = StringField(
        "Places par entreprise et par session",
        description="Laissez vide pour ne pas limiter.",
        validators=[Optional()],
    )
    cap_per_company_per_year = StringField(
        "Places par entreprise et par an",
        description="Laissez vide pour ne pas limiter.",
        validators=[Optional()],
    )
    cancellation_days = StringField(
        "Délai d'annulation sans frais (jours ouvrés)",
        description="Avant le premier jour de la session ; les jours fériés ne comptent pas.",
        default="10",
        validators=[Optional()],
    )
    requires_approval = BooleanField("Chaque inscription doit être validée par l'OPCO")
    # Empty: the OPCO's rule (its settings page); the service refuses any other value.
    funding_basis = SelectField(
        "Base de la prise en charge",
        choices=[
            SelectChoice("", "Règle de l'OPCO (paramètres)"),
            SelectChoice("ht", "Sur le prix HT : la TVA reste à la charge de l'entreprise"),
            SelectChoice("ttc", "Sur le prix TTC : l'OPCO prend aussi sa part de la TVA"),
        ],
        default="",
        validators=[Optional()],
        invalid_choice_message="Choisissez la base de la prise en charge dans la liste.",
    )
    # Empty: the OPCO's setting; the service refuses any other value.
    funding_flow = SelectField(
        "Paiement de la part OPCO",
        choices=[
            SelectChoice("", "Règle de l'OPCO (paramètres)"),
            SelectChoice("subrogation", "Subrogation de paiement"),
            SelectChoice("direct_purchase", "Achat direct"),
        ],
        default="",
        validators=[Optional()],
        invalid_choice_message="Choisissez le mode de paiement dans la liste.",
    )
    dedit_rate_pct = StringField(
        "Indemnité de dédit (% du prix HT)",
        description=(
            "Due par l'entreprise pour une annulation hors délai ou une absence non justifiée, jamais par "
            "l'OPCO (art. L6354-1). De 0 à 100 ; vide ou 0 : aucune."
        ),
        validators=[Optional()],
    )

    @property
    def share_fields(self):
        return [(code, label, self[share_field(code)]) for code, label, _low, _high in SIZE_BANDS]


# One share field per size band, named after services.catalogue.share_field (errors land on it).
for _code, _label, _low, _high in SIZE_BANDS:
    setattr(
        ActionForm,
        share_field(_code),
        StringField(
            f"{_label} (%)",
            validators=[Optional()],
        ),
    )


class ReferencingForm(Form):
    # The choices are the organisations the OPCO may reference on this action: any other id is refused.
    provider_id = SelectField(
        "Organisme de formation",
        validators=[DataRequired("Choisissez un organisme.")],
        invalid_choice_message="Choisissez un organisme de formation dans la liste.",
    )
    valid_from = DateField("Référencé à partir du", validators=[DataRequired(DATE_MESSAGE)])
    valid_until = DateField("Jusqu'au", validators=[DataRequired(DATE_MESSAGE)])
    price = StringField(
        "Prix négocié par stagiaire (€ HT)",
        description="Au plus le prix plafond de l'action.",
        validators=[DataRequired(REQUIRED)],
    )


class ReferencingEditForm(Form):
    valid_from = DateField("Référencé à partir du", validators=[DataRequired(DATE_MESSAGE)])
    valid_until = DateField("Jusqu'au", validators=[DataRequired(DATE_MESSAGE)])
    price = StringField(
        "Prix négocié par stagiaire (€ HT)",
        description="Au plus le prix plafond de l'action.",
        validators=[DataRequired(REQUIRED)],
    )
    # How the organisation invoices the OPCO (services.invoicing); the service checks the values.
    pricing_mode = SelectField(
        "Mode de facturation à l'OPCO",
        choices=[
            SelectChoice("per_trainee", "Prix par stagiaire, au prorata des heures réalisées"),
            SelectChoice("per_hour", "Taux horaire × heures réalisées"),
            SelectChoice("group", "Prix de groupe, dû en entier au-delà d'un seuil d'assiduité"),
        ],
        default="per_trainee",
        invalid_choice_message="Choisissez le mode de facturation dans la liste.",
    )
    hourly_rate = StringField("Taux horaire (€ HT)", description="Pour le mode « taux horaire ».")
    group_price = StringField("Prix de groupe (€ HT)", description="Pour le mode « prix de groupe ».")
    group_threshold = StringField(
        "Seuil d'assiduité (%)",
        description="Heures-stagiaires réalisées / prévues au-delà desquelles le prix de groupe est dû en entier.",
    )
