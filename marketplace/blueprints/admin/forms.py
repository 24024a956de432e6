from wtforms import SelectField
from wtforms.validators import DataRequired, Regexp

from marketplace.blueprints.auth.forms import MultiCheckboxField
from marketplace.web.forms import Form


class CreateOpcoForm(Form):
    # Any code reaches the service, which says why it refuses (unknown, or already on the platform).
    code = SelectField(
        "OPCO",
        validators=[
            DataRequired("Choisissez un OPCO dans la liste."),
            Regexp(
                r"^[a-z0-9_-]{1,40}\Z", message="Choisissez un OPCO dans la liste."
            ),  # a code, nothing else
        ],
        validate_choice=False,
    )


class BranchesForm(Form):
    idcc = MultiCheckboxField("Branches couvertes (IDCC)")
