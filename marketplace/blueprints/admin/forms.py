from wtforms import HiddenField, SelectField
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


class RunJobForm(Form):
    """« Lancer maintenant » on the scheduled jobs page: the job's name (the service checks it exists)."""

    job = HiddenField("Tâche", validators=[DataRequired("Choisissez une tâche de la liste.")])
