from wtforms import DateField, EmailField, SelectField
from wtforms.validators import DataRequired, Optional

from marketplace.web.forms import REQUIRED, Form


class InviteForm(Form):
    email = EmailField("Adresse e-mail de la personne invitée", validators=[DataRequired(REQUIRED)])
    role = SelectField("Rôle", validators=[DataRequired("Choisissez un rôle dans la liste.")])


class RoleForm(Form):
    role = SelectField("Rôle", validators=[DataRequired("Choisissez un rôle dans la liste.")])


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # read-only GET filters

    action = SelectField("Action", validators=[Optional()])
    actor = SelectField("Auteur", validators=[Optional()])
    date_from = DateField("Du", validators=[Optional()])
    date_to = DateField("Au", validators=[Optional()])
