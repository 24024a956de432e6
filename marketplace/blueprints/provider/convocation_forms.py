"""Forms of the convocations: the organisation's information for trainees (L6353-8), a session's link."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from marketplace.blueprints.provider.session_forms import plain_text
from marketplace.services.trainee_information import TraineeInformation
from marketplace.web.forms import Form


class TraineeInformationForm(Form):
    disability_referent = StringField(
        "Référent handicap",
        description="La personne qui adapte l'accueil des stagiaires en situation de handicap.",
        validators=[Optional(), Length(max=200), plain_text],
    )
    disability_referent_contact = StringField(
        "Contact du référent handicap",
        description="Téléphone et/ou adresse e-mail.",
        validators=[Optional(), Length(max=300), plain_text],
    )
    internal_rules = TextAreaField(
        "Règlement intérieur",
        description="Joint en annexe de chaque convocation (article L6352-3 du Code du travail).",
        validators=[Optional(), Length(max=10_000), plain_text],
    )
    signatory_name = StringField("Nom du signataire", validators=[Optional(), Length(max=200), plain_text])
    signatory_title = StringField(
        "Fonction du signataire",
        description="Par exemple « Directrice ». Le signataire signe les documents de l'organisme.",
        validators=[Optional(), Length(max=200), plain_text],
    )

    def to_input(self) -> TraineeInformation:
        return TraineeInformation(
            disability_referent=self.disability_referent.data or "",
            disability_referent_contact=self.disability_referent_contact.data or "",
            internal_rules=self.internal_rules.data or "",
            signatory_name=self.signatory_name.data or "",
            signatory_title=self.signatory_title.data or "",
        )


class ConnectionForm(Form):
    connection_url = StringField(
        "Lien de connexion (classe virtuelle)",
        description="L'adresse complète, commençant par https://. Elle figure sur la convocation.",
        validators=[Optional(), Length(max=500), plain_text],
    )
