"""What a training organisation tells its trainees before the training (C. trav. L6353-8), and the link of a
distance session: typed on the organisation's « Informations stagiaires » page and the session's page, printed
on every convocation.

L6353-8 asks for the contact of the person in charge of disabled trainees (référent handicap) and the
règlement intérieur (L6352-3); the signatory signs the documents the organisation issues. A distance session's
convocation carries the virtual classroom's link: it is required before those convocations go out
(``services.convocations.blocker``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from marketplace.models import SessionStatus, TrainingProvider, TrainingSession, User
from marketplace.models.limits import ADDRESS, LONG_TEXT, TITLE
from marketplace.services import audit, convocations
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.locking import lock_session
from marketplace.services.text import UNSAFE_MESSAGE, has_control

URL_MAX = 500
# Sessions whose connection link may still change (before and during the training).
LINK_EDITABLE = (
    SessionStatus.DRAFT,
    SessionStatus.OPEN,
    SessionStatus.CLOSED,
    SessionStatus.CONFIRMED,
    SessionStatus.POSTPONED,
    SessionStatus.IN_PROGRESS,
)


@dataclass
class TraineeInformation:
    disability_referent: str = ""
    disability_referent_contact: str = ""
    internal_rules: str = ""
    signatory_name: str = ""
    signatory_title: str = ""


_FIELDS = {
    "disability_referent": ("Référent handicap", TITLE, True),
    "disability_referent_contact": ("Contact du référent handicap", ADDRESS, True),
    "internal_rules": ("Règlement intérieur", LONG_TEXT, False),
    "signatory_name": ("Nom du signataire", TITLE, True),
    "signatory_title": ("Fonction du signataire", TITLE, True),
}


def update_provider(provider: TrainingProvider, data: TraineeInformation, actor: User) -> list[str]:
    """Save the organisation's L6353-8 information; every refusal is listed at its field, nothing is changed.

    The référent handicap goes with a way to reach them (and the reverse), a signatory with their function.
    Returns the names of the fields changed (audited).
    """
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, (label, limit, one_line) in _FIELDS.items():
        raw = getattr(data, name)
        if not isinstance(raw, str | None):
            raise TypeError(f"{name} must be text")
        text = " ".join((raw or "").split()) if one_line else (raw or "").replace("\r\n", "\n").strip()
        if has_control(text):
            errors[name] = UNSAFE_MESSAGE
        elif len(text) > limit:
            errors[name] = f"{label} : {limit} caractères au maximum."
        values[name] = text
    pairs = (
        (
            "disability_referent",
            "disability_referent_contact",
            "Indiquez le nom du référent handicap.",
            "Indiquez comment joindre le référent handicap (téléphone ou e-mail).",
        ),
        (
            "signatory_name",
            "signatory_title",
            "Indiquez le nom du signataire.",
            "Indiquez la fonction du signataire.",
        ),
    )
    for first, second, first_missing, second_missing in pairs:
        if values[first] and not values[second]:
            errors.setdefault(second, second_missing)
        if values[second] and not values[first]:
            errors.setdefault(first, first_missing)
    if errors:
        raise InvalidForm(errors)
    changed = [name for name, value in values.items() if getattr(provider, name) != value]
    for name in changed:
        setattr(provider, name, values[name])
    if changed:
        audit.record(
            "provider.trainee_information_changed",
            organisation_id=provider.id,
            actor=actor,
            obj=provider,
            data={"changed": changed},
        )
    return changed


def missing(provider: TrainingProvider) -> list[str]:
    """What the convocations will lack (French labels), shown to the organisation before they go out."""
    gaps = []
    if not provider.disability_referent:
        gaps.append("le référent handicap")
    if not provider.internal_rules:
        gaps.append("le règlement intérieur")
    return gaps


def clean_connection_url(raw: str | None) -> str:
    """A virtual classroom link: https (or http) with a host, at most 500 characters; empty is allowed."""
    text = (raw or "").strip()
    if not text:
        return ""
    if has_control(text) or any(ch.isspace() for ch in text):
        raise DomainError(
            "Le lien de connexion ne doit contenir ni espace ni caractère spécial.", field="connection_url"
        )
    if len(text) > URL_MAX:
        raise DomainError(f"Le lien de connexion : {URL_MAX} caractères au maximum.", field="connection_url")
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        raise DomainError(
            "Indiquez l'adresse complète de la classe virtuelle, commençant par https://.",
            field="connection_url",
        )
    return text


def set_connection_url(session: TrainingSession, raw: str | None, actor: User) -> TrainingSession:
    """Give (or change) the link of a distance session, whatever its state before the end of the training.

    Convocations already sent carry the old link: they are sent again right after the commit (the link is
    part of what a convocation is made for, see ``convocations.schedule_key``).
    """
    session = lock_session(session.id)
    if not session.is_remote:
        raise DomainError(
            "Cette session se tient en présentiel : elle n'a pas de lien de connexion.",
            field="connection_url",
        )
    if session.status not in LINK_EDITABLE:
        raise DomainError(
            f"Une session « {session.status_label} » ne peut plus changer de lien de connexion.",
            field="connection_url",
        )
    url = clean_connection_url(raw)
    if not url:
        raise DomainError("Indiquez le lien de connexion de la classe virtuelle.", field="connection_url")
    if url != session.connection_url:
        session.connection_url = url
        convocations.after_schedule_change(session)  # the trainees already convoked get the new link at once
        audit.record(
            "session.connection_url_changed",
            organisation_id=session.provider_id,
            actor=actor,
            obj=session,
            data={},
        )
    return session
