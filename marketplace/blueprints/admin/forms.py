from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import DataRequired

from marketplace.blueprints.auth.forms import MultiCheckboxField


class CreateOpcoForm(FlaskForm):
    code = SelectField("OPCO", validators=[DataRequired("Choisissez un OPCO dans la liste.")])


class BranchesForm(FlaskForm):
    idcc = MultiCheckboxField("Branches couvertes (IDCC)")

