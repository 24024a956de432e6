from wtforms import SelectField
from wtforms.validators import DataRequired

from marketplace.blueprints.auth.forms import MultiCheckboxField
from marketplace.web.forms import Form


class CreateOpcoForm(Form):
    code = SelectField("OPCO", validators=[DataRequired("Choisissez un OPCO dans la liste.")])


class BranchesForm(Form):
    idcc = MultiCheckboxField("Branches couvertes (IDCC)")

