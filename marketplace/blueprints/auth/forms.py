"""Sign-in, sign-up, password and invitation forms."""

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.formatting import paris_today
from marketplace.services import accounts, identifiers, organisations
from marketplace.web.forms import REQUIRED, Form, identifier

PASSWORD_HINT = "Au moins 12 caractères."


class LoginForm(Form):
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED)])
    password = PasswordField("Mot de passe", validators=[DataRequired(REQUIRED)])


class ConfirmEmailForm(Form):
    """Only the CSRF token: the button that confirms an address."""


class ForgotPasswordForm(Form):
    email = EmailField("Adresse e-mail", validators=[DataRequired(REQUIRED)])


class ResetPasswordForm(Form):
    password = PasswordField(
        "Nouveau mot de passe", description=PASSWORD_HINT, validators=[DataRequired(REQUIRED)]
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Les deux mots de passe ne correspondent pas."),
        ],
    )


class AccountForm(Form):
    full_name = StringField("Prénom et nom", validators=[DataRequired(REQUIRED), Length(max=200)])


class ChangePasswordForm(Form):
    current_password = PasswordField("Mot de passe actuel", validators=[DataRequired(REQUIRED)])
    new_password = PasswordField(
        "Nouveau mot de passe", description=PASSWORD_HINT, validators=[DataRequired(REQUIRED)]
    )
    confirm = PasswordField(
        "Confirmez le nouveau mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("new_password", "Les deux mots de passe ne correspondent pas."),
        ],
    )


class NewAccountFields(Form):
    """The person's own fields, asked only when nobody is signed in."""

    full_name = StringField("Vos prénom et nom", validators=[DataRequired(REQUIRED), Length(max=200)])
    email = EmailField("Votre adresse e-mail professionnelle", validators=[DataRequired(REQUIRED)])
    # The service's own rules, run here too so every error of the form shows on the first submit.
    password = PasswordField(
        "Mot de passe",
        description=PASSWORD_HINT,
        validators=[DataRequired(REQUIRED), identifier(accounts.validate_password)],
    )
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Les deux mots de passe ne correspondent pas."),
        ],
    )


class OrganisationFields(Form):
    name = StringField("Raison sociale", validators=[DataRequired(REQUIRED), Length(max=200)])
    siret = StringField(
        "SIRET de l'établissement",
        description="14 chiffres, sur votre extrait Kbis ou l'avis de situation Sirene.",
        validators=[
            DataRequired(REQUIRED),
            identifier(lambda value: organisations.check_siret_free(identifiers.validate_siret(value))),
        ],
    )
    address = StringField("Adresse", validators=[DataRequired(REQUIRED), Length(max=300)])
    postal_code = StringField(
        "Code postal",
        validators=[DataRequired(REQUIRED), Length(max=5), identifier(organisations.validate_postal_code)],
    )
    city = StringField("Commune", validators=[DataRequired(REQUIRED), Length(max=120)])
    # Derived from the postal code by the service; a region chosen here must be the postal code's.
    region_code = SelectField(
        "Région",
        description="Déduite du code postal : vous pouvez la laisser vide.",
        validators=[Optional()],
    )
    accept_terms = BooleanField(
        "J'accepte les conditions d'utilisation et la politique de protection des données",
        validators=[DataRequired("Vous devez accepter les conditions d'utilisation pour créer un compte.")],
    )


class CompanySignupForm(OrganisationFields):
    ape = StringField(
        "Code APE/NAF",
        description="4 chiffres et une lettre, par exemple 8121Z.",
        validators=[DataRequired(REQUIRED), identifier(identifiers.validate_ape)],
    )
    idcc = StringField(
        "IDCC (convention collective)",
        description="Jusqu'à 4 chiffres, indiqué sur les bulletins de paie. Il détermine votre OPCO.",
        validators=[DataRequired(REQUIRED), identifier(identifiers.validate_idcc)],
    )
    # Read by the service only when no OPCO follows from the IDCC (not in the table, or 9999).
    declared_opco = SelectField(
        "Votre OPCO",
        description="Seulement si votre IDCC n'est pas dans notre table ou si vous n'avez pas de convention "
        "collective (9999) : l'équipe de la plateforme confirmera votre OPCO.",
        validators=[Optional()],
        invalid_choice_message="Choisissez votre OPCO parmi les 11 OPCO de la liste.",
    )
    headcount = StringField(
        "Effectif salarié",
        description="Nombre de salariés de l'entreprise, par exemple 1 200.",
        validators=[
            InputRequired("Indiquez l'effectif salarié (nombre entier)."),
            identifier(identifiers.validate_headcount),
        ],
    )
    # Read by the service (N-1, or N-2 while N-1's average is not known); empty means last year.
    headcount_year = StringField(
        "Année de cet effectif",
        description="L'effectif à indiquer est l'effectif moyen annuel de l'année précédente.",
        default=lambda: paris_today().year - 1,
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProviderSignupForm(OrganisationFields):
    nda = StringField(
        "Numéro de déclaration d'activité (NDA)",
        description="11 chiffres, attribué par la DREETS (préfecture de région).",
        validators=[DataRequired(REQUIRED), identifier(lambda v: identifiers.validate_nda(v))],
    )
    vat_regime = SelectField(
        "Régime de TVA",
        choices=[("", "— Choisissez —")] + list(identifiers.VAT_REGIMES.items()),
        validators=[DataRequired("Choisissez votre régime de TVA.")],
    )
    qualiopi_certifier = StringField(
        "Organisme certificateur Qualiopi", validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    qualiopi_number = StringField("Numéro du certificat Qualiopi", validators=[DataRequired(REQUIRED)])
    qualiopi_categories = MultiCheckboxField(
        "Catégories d'actions certifiées",
        choices=list(identifiers.QUALIOPI_CATEGORIES.items()),
        validators=[DataRequired("Cochez au moins une catégorie d'actions certifiées.")],
    )
    qualiopi_issued_on = DateField(
        "Date de délivrance du certificat",
        validators=[DataRequired("Indiquez une date valide (jj/mm/aaaa).")],
    )
    qualiopi_expires_on = DateField(
        "Date d'expiration du certificat", validators=[DataRequired("Indiquez une date valide (jj/mm/aaaa).")]
    )


class InvitationAcceptForm(Form):
    full_name = StringField("Vos prénom et nom", validators=[Optional(), Length(max=200)])
    password = PasswordField("Choisissez un mot de passe", description=PASSWORD_HINT, validators=[Optional()])
    confirm = PasswordField(
        "Confirmez le mot de passe",
        validators=[Optional(), EqualTo("password", "Les deux mots de passe ne correspondent pas.")],
    )
