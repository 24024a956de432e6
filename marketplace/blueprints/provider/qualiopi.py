"""Training organisation: its Qualiopi certificate, renewed by its administrator (which lifts the suspensions
the lapsed certificate caused), and the certificate's PDF."""

from __future__ import annotations

import io

from flask import abort, g, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectMultipleField, StringField, ValidationError
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.blueprints.provider.routes import bp
from marketplace.formatting import paris_today
from marketplace.services import identifiers, referencing_registry, storage
from marketplace.services.qualiopi import QualiopiInput, qualiopi_document, renew_qualiopi
from marketplace.services.roles import Perm
from marketplace.web.actions import render, submit
from marketplace.web.forms import REQUIRED, Form
from marketplace.web.guard import require
from marketplace.web.params import DATE_MAX, DATE_MIN

DATE_MESSAGE = "Indiquez une date valide (jj/mm/aaaa)."


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        if any(value not in dict(self.choices) for value in self.data or []):
            raise ValidationError("Choisissez des catégories dans la liste.")


def plausible_date(form, field) -> None:
    if field.data is not None and not DATE_MIN <= field.data <= DATE_MAX:
        raise ValidationError(DATE_MESSAGE)


class QualiopiForm(Form):
    qualiopi_certifier = StringField(
        "Organisme certificateur",
        description="Par exemple AFNOR Certification, Bureau Veritas, ICPF.",
        validators=[DataRequired(REQUIRED), Length(max=120)],
    )
    qualiopi_number = StringField("Numéro du certificat", validators=[DataRequired(REQUIRED), Length(max=40)])
    qualiopi_categories = MultiCheckboxField(
        "Catégories d'actions certifiées",
        choices=list(identifiers.QUALIOPI_CATEGORIES.items()),
        validators=[DataRequired("Cochez au moins une catégorie d'actions certifiées.")],
    )
    qualiopi_issued_on = DateField(
        "Date de délivrance", validators=[DataRequired(DATE_MESSAGE), plausible_date]
    )
    qualiopi_expires_on = DateField(
        "Date de fin de validité",
        description="Un certificat Qualiopi est valable 3 ans au plus.",
        validators=[DataRequired(DATE_MESSAGE), plausible_date],
    )
    file = FileField(
        "Certificat (PDF)",
        validators=[FileRequired("Joignez le certificat Qualiopi au format PDF.")],
        render_kw={"accept": ".pdf,application/pdf"},
    )

    def to_input(self) -> QualiopiInput:
        upload = self.file.data
        return QualiopiInput(
            certifier=self.qualiopi_certifier.data or "",
            number=self.qualiopi_number.data or "",
            categories=list(self.qualiopi_categories.data or []),
            issued_on=self.qualiopi_issued_on.data,
            expires_on=self.qualiopi_expires_on.data,
            filename=(upload.filename or "") if upload else "",
            content=upload.read() if upload else b"",
        )


def _message(lifted) -> str:
    text = "Votre certificat Qualiopi renouvelé est enregistré."
    if lifted:
        n = len(lifted)
        text += (
            f" {n} référencement{'s' if n > 1 else ''} suspendu{'s' if n > 1 else ''} à l'expiration de "
            f"l'ancien certificat {'sont' if n > 1 else 'est'} réactivé{'s' if n > 1 else ''} ; "
            "les OPCO concernés sont prévenus."
        )
    return text


@bp.route("/qualiopi", methods=["GET", "POST"])
@require(Perm.MANAGE_MEMBERS)
def qualiopi():
    today = paris_today()
    form = QualiopiForm()
    if not form.is_submitted():
        form.qualiopi_certifier.data = g.org.qualiopi_certifier
        form.qualiopi_categories.data = g.org.qualiopi_category_list

    def page():
        return render(
            "provider/qualiopi.html",
            form=form,
            provider=g.org,
            today=today,
            valid=referencing_registry.qualiopi_suspension_reason(g.org, today) is None,
            suspended=referencing_registry.suspended_for_qualiopi(g.org.id),
            max_mb=storage.max_bytes() // (1024 * 1024),
            categories=identifiers.QUALIOPI_CATEGORIES,
        )

    return submit(
        form,
        lambda: renew_qualiopi(g.org, form.to_input(), current_user, today),
        page=page,
        done=url_for("provider.qualiopi"),
        message=_message,
    )


@bp.get("/qualiopi/certificat")
@require(Perm.VIEW_DASHBOARD)
def qualiopi_certificate():
    found = qualiopi_document(g.org)
    if found is None:
        abort(404)
    name, content = found
    return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=name)
