"""Forms of the employee register: one employee, and the CSV import."""

from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.models import ContractType, EmployeeCategory
from marketplace.services.employees import JOB_TITLE_MAX, NAME_MAX
from marketplace.web.forms import Form


class EmployeeForm(Form):
    last_name = StringField(
        "Nom",
        validators=[
            DataRequired("Indiquez le nom du salarié."),
            Length(max=NAME_MAX, message=f"Le nom ne peut pas dépasser {NAME_MAX} caractères."),
        ],
    )
    first_name = StringField(
        "Prénom",
        validators=[
            DataRequired("Indiquez le prénom du salarié."),
            Length(max=NAME_MAX, message=f"Le prénom ne peut pas dépasser {NAME_MAX} caractères."),
        ],
    )
    email = EmailField(
        "Adresse e-mail professionnelle",
        validators=[Optional()],
        description="Facultative. Elle sert à envoyer la convocation au salarié ; deux salariés ne peuvent pas "
        "avoir la même.",
    )
    job_title = StringField(
        "Fonction",
        validators=[
            Optional(),
            Length(
                max=JOB_TITLE_MAX, message=f"La fonction ne peut pas dépasser {JOB_TITLE_MAX} caractères."
            ),
        ],
    )
    contract_type = SelectField("Type de contrat", choices=list(ContractType.LABELS.items()))
    category = SelectField("Catégorie", choices=list(EmployeeCategory.LABELS.items()))


class ImportForm(Form):
    file = FileField(
        "Fichier CSV des salariés",
        validators=[FileRequired("Choisissez le fichier CSV à importer.")],
        description="Format CSV (séparateur point-virgule ou virgule), 2 000 lignes et 1 Mo au plus.",
    )
