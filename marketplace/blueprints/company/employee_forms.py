"""Forms of the employee register: one employee, and the CSV import."""

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import CombinedMultiDict
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.models import ContractType, EmployeeCategory
from marketplace.services.employees import JOB_TITLE_MAX, NAME_MAX


class PostedFieldsOnly:
    """Read a form from the posted HTML fields only: never a JSON body (whose values may be numbers, lists or
    objects), and files only for a form with a file field. A file sent in place of a text field thus leaves
    that field empty, and its validators refuse it in French instead of failing on a foreign type."""

    with_files = False

    def wrap_formdata(self, form, formdata):
        if formdata is None or hasattr(formdata, "getlist"):  # given explicitly by the caller
            return super().wrap_formdata(form, formdata)
        if not form.is_submitted():
            return None
        return CombinedMultiDict((request.files, request.form)) if self.with_files else request.form


class EmployeeForm(FlaskForm):
    class Meta(PostedFieldsOnly):
        pass

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
            Length(max=JOB_TITLE_MAX, message=f"La fonction ne peut pas dépasser {JOB_TITLE_MAX} caractères."),
        ],
    )
    contract_type = SelectField("Type de contrat", choices=list(ContractType.LABELS.items()))
    category = SelectField("Catégorie", choices=list(EmployeeCategory.LABELS.items()))


class ImportForm(FlaskForm):
    class Meta(PostedFieldsOnly):
        with_files = True

    file = FileField(
        "Fichier CSV des salariés",
        validators=[FileRequired("Choisissez le fichier CSV à importer.")],
        description="Format CSV (séparateur point-virgule ou virgule), 2 000 lignes et 1 Mo au plus.",
    )
