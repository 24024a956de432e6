from wtforms import DateField, EmailField, SelectField
from wtforms.validators import DataRequired, Optional

from marketplace.web.forms import REQUIRED, Form


class InviteForm(Form):
    email = EmailField("Adresse e-mail de la personne invitée", validators=[DataRequired(REQUIRED)])
    # The service checks the role against the organisation's kind and says so in French.
    role = SelectField(
        "Rôle", validators=[DataRequired("Choisissez un rôle dans la liste.")], validate_choice=False
    )


class RoleForm(Form):
    # The service checks the role against the organisation's kind and says so in French.
    role = SelectField(
        "Rôle", validators=[DataRequired("Choisissez un rôle dans la liste.")], validate_choice=False
    )


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # read-only GET filters

    action = SelectField("Action", validators=[Optional()])
    actor = SelectField("Auteur", validators=[Optional()])
    date_from = DateField("Du", validators=[Optional()])
    date_to = DateField("Au", validators=[Optional()])
