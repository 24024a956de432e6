"""Forms of the attendance pages: presences of a half-day, the trainer's attestation, an amendment after the
lock, the proof upload (paper sheet or connection export) and an abandonment."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, FieldList, FormField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from marketplace.models import AttendanceStatus, DocumentKind
from marketplace.models.limits import FULL_NAME, REASON
from marketplace.services.attendance_marks import AttestInput, MarkInput
from marketplace.web.forms import REQUIRED, Form

# A drawn signature arrives as a PNG data URL (base64): the model's bound (100 kB) and its prefix.
SIGNATURE_CHARS = 140_000
STATUS_CHOICES = [("", "Non renseigné"), *AttendanceStatus.LABELS.items()]
MINUTES = [Optional(), NumberRange(min=0, max=600, message="Entre 0 et 600 minutes.")]


class MarkRow(Form):
    class Meta:
        csrf = False

    attendance_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(REQUIRED)])
    status = SelectField("Présence", choices=STATUS_CHOICES, validate_choice=True)
    minutes_missed = IntegerField("Minutes manquées", validators=MINUTES)
    excuse_reason = StringField("Motif de l'absence", validators=[Length(max=REASON)])

    def to_input(self) -> MarkInput:
        return MarkInput(
            self.attendance_id.data,
            self.status.data or None,
            self.minutes_missed.data,
            self.excuse_reason.data,
        )


class MarksForm(Form):
    marks = FieldList(FormField(MarkRow), min_entries=0, max_entries=1000)

    def mark_inputs(self) -> list[MarkInput]:
        return [entry.form.to_input() for entry in self.marks.entries]


class AttestForm(MarksForm):
    trainer_name = StringField("Nom du formateur", validators=[DataRequired(REQUIRED), Length(max=FULL_NAME)])
    signature = StringField("Signature", validators=[Length(max=SIGNATURE_CHARS)])
    confirm = BooleanField(
        "J'atteste que les présences ci-dessus sont exactes pour cette demi-journée.",
        validators=[DataRequired("Cochez l'attestation pour signer la demi-journée.")],
    )

    def to_input(self, ip_address: str | None, user_agent: str | None) -> AttestInput:
        return AttestInput(
            trainer_name=self.trainer_name.data,
            signature=self.signature.data,
            marks=self.mark_inputs(),
            ip_address=ip_address,
            user_agent=user_agent,
        )


class AmendForm(Form):
    attendance_id = SelectField("Stagiaire", coerce=int, validate_choice=True)
    status = SelectField(
        "Présence rectifiée", choices=list(AttendanceStatus.LABELS.items()), validate_choice=True
    )
    minutes_missed = IntegerField("Minutes manquées (retard ou départ anticipé)", validators=MINUTES)
    excuse_reason = StringField("Motif de l'absence justifiée", validators=[Length(max=REASON)])
    reason = StringField(
        "Motif de la rectification", validators=[DataRequired(REQUIRED), Length(min=3, max=REASON)]
    )

    def to_input(self) -> MarkInput:
        return MarkInput(
            self.attendance_id.data, self.status.data, self.minutes_missed.data, self.excuse_reason.data
        )


class ProofForm(Form):
    kind = SelectField(
        "Type de preuve",
        choices=[
            (DocumentKind.PAPER_SHEET, "Feuille d'émargement papier signée (scan PDF)"),
            (DocumentKind.CONNECTION_LOG, "Relevé de connexions de la classe virtuelle (CSV)"),
        ],
        validate_choice=True,
    )
    file = FileField("Fichier", validators=[FileRequired("Choisissez le fichier à déposer.")])


class AbandonForm(Form):
    enrolment_id = SelectField("Stagiaire", coerce=int, validate_choice=True)
    reason = StringField("Motif de l'abandon", validators=[DataRequired(REQUIRED), Length(min=3, max=REASON)])


class SignForm(Form):
    """The trainee's signing page: a drawn signature, or the certification with the typed name."""

    via = HiddenField(validators=[Length(max=20)])
    signature = StringField("Signature", validators=[Length(max=SIGNATURE_CHARS)])
    certify = BooleanField("Je certifie être présent(e) à cette demi-journée.")
    typed_name = StringField("Votre nom et prénom", validators=[Length(max=FULL_NAME)])
