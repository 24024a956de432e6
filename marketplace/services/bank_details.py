"""A training organisation's bank details (« Coordonnées bancaires »), where the OPCO's transfers go.

IBAN and BIC are checked with ``schwifty`` (checksum, length and structure per country; the BIC of a French
IBAN is derived from the bank code when not given). A change is never applied at once: it is kept pending and
a single-use link (its SHA-256 stored, valid 24 hours) is emailed to the organisation's administrators; the
change applies only when one of them follows it (a stolen account of an accountant cannot redirect payments
unseen). Both the request and the change are audited with the IBAN masked. A payment batch refuses an
organisation without a confirmed IBAN (services.payments).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from marketplace.extensions import db
from marketplace.models import TrainingProvider, User, utcnow
from marketplace.services import audit, outbox
from marketplace.services.accounts import member_emails
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.locking import lock_row
from marketplace.services.roles import Perm
from marketplace.services.text import has_control

LINK_VALIDITY = timedelta(hours=24)
HOLDER_MAX = 70  # SEPA name length


@dataclass(frozen=True)
class Account:
    iban: str
    bic: str
    holder: str


def mask(iban: str | None) -> str:
    """« FR76 •••• •••• 0189 »: enough to recognise the account, not to use it."""
    if not iban:
        return ""
    return f"{iban[:4]} •••• •••• {iban[-4:]}"


def check_account(raw_iban: str | None, raw_bic: str | None, raw_holder: str | None) -> Account:
    """The cleaned account, or InvalidForm with a French message at each wrong field (nothing saved)."""
    errors: dict[str, str] = {}
    iban = bic = None
    compact = "".join((raw_iban or "").split()).upper()
    if not compact:
        errors["iban"] = "Indiquez l'IBAN du compte."
    else:
        try:
            iban = IBAN(compact)
        except SchwiftyException:
            errors["iban"] = (
                "Cet IBAN n'est pas valide : vérifiez les caractères et la clé de contrôle (ex. FR76 3000 6000 0112 3456 7890 189)."
            )
    raw_bic = "".join((raw_bic or "").split()).upper()
    if raw_bic:
        try:
            bic = BIC(raw_bic)
        except SchwiftyException:
            errors["bic"] = "Ce BIC n'est pas valide : 8 ou 11 caractères, par exemple BNPAFRPPXXX."
    elif iban is not None:
        bic = iban.bic
        if bic is None:
            errors["bic"] = "Indiquez le BIC de la banque : il ne peut pas être déduit de cet IBAN."
    if iban is not None and bic is not None and "bic" not in errors and bic.country_code != iban.country_code:
        errors["bic"] = "Ce BIC n'est pas celui d'une banque du pays de l'IBAN."
    holder = " ".join((raw_holder or "").split())
    if len(holder) < 2:
        errors["account_holder"] = "Indiquez le titulaire du compte."
    elif len(holder) > HOLDER_MAX or has_control(holder):
        errors["account_holder"] = f"Le titulaire tient en {HOLDER_MAX} caractères, sans caractères spéciaux."
    if errors:
        raise InvalidForm(errors)
    return Account(iban=iban.compact, bic=bic.compact, holder=holder)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_change(
    provider: TrainingProvider,
    actor: User,
    raw_iban: str | None,
    raw_bic: str | None,
    raw_holder: str | None,
    now: datetime | None = None,
) -> TrainingProvider:
    """Keep the new account pending and email the confirmation link to the administrators."""
    account = check_account(raw_iban, raw_bic, raw_holder)
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    provider.pending_iban = account.iban
    provider.pending_bic = account.bic
    provider.pending_account_holder = account.holder
    provider.pending_bank_token_hash = _hash(token)
    provider.pending_bank_expires_at = now + LINK_VALIDITY
    audit.record(
        "provider.bank_change_requested",
        organisation_id=provider.id,
        actor=actor,
        obj=provider,
        data={"iban": mask(account.iban), "bic": account.bic},
    )
    admins = member_emails([provider.id], "provider", Perm.MANAGE_MEMBERS).get(provider.id, [])
    for email in admins:
        outbox.queue_email(
            email,
            "bank_change_confirm",
            organisation_id=provider.id,
            provider=provider,
            actor=actor,
            masked=mask(account.iban),
            bic=account.bic,
            token=token,
        )
    db.session.flush()
    return provider


def pending_for(provider: TrainingProvider, token: str | None, now: datetime | None = None) -> bool:
    """Whether ``token`` is the live link of the organisation's pending change."""
    now = now or utcnow()
    return bool(
        token
        and provider.pending_bank_token_hash
        and secrets.compare_digest(provider.pending_bank_token_hash, _hash(token))
        and provider.pending_bank_expires_at is not None
        and provider.pending_bank_expires_at > now
    )


def confirm_change(
    provider: TrainingProvider, actor: User, token: str | None, now: datetime | None = None
) -> TrainingProvider:
    """Apply the pending account when the link is the live one (24 h); audited with the IBAN masked."""
    lock_row(TrainingProvider.__table__, provider.id)
    db.session.refresh(provider)
    if not pending_for(provider, token, now):
        raise DomainError(
            "Ce lien de confirmation n'est plus valable (déjà utilisé, remplacé ou expiré après 24 heures). "
            "Saisissez de nouveau les coordonnées bancaires."
        )
    return _apply(provider, actor, now)


def apply_pending_for_demo(provider: TrainingProvider, actor: User) -> TrainingProvider:
    """Demo data only (``flask seed-demo``): apply the change just requested as if its emailed link had been
    followed — nobody reads the demo's mailbox. Never called from a route."""
    if not provider.pending_iban:
        raise DomainError("Aucune modification de coordonnées bancaires n'attend de confirmation.")
    return _apply(provider, actor, None)


def _apply(provider: TrainingProvider, actor: User, now: datetime | None) -> TrainingProvider:
    previous = mask(provider.iban)
    provider.iban = provider.pending_iban
    provider.bic = provider.pending_bic
    provider.account_holder = provider.pending_account_holder
    provider.bank_changed_at = now or utcnow()
    provider.pending_iban = provider.pending_bic = provider.pending_account_holder = None
    provider.pending_bank_token_hash = None
    provider.pending_bank_expires_at = None
    audit.record(
        "provider.bank_changed",
        organisation_id=provider.id,
        actor=actor,
        obj=provider,
        data={"iban": [previous, mask(provider.iban)], "bic": provider.bic},
    )
    for email in member_emails([provider.id], "provider", Perm.MANAGE_MEMBERS, Perm.INVOICE).get(
        provider.id, []
    ):
        outbox.queue_email(
            email, "bank_changed", organisation_id=provider.id, provider=provider, masked=mask(provider.iban)
        )
    return provider
