"""A training organisation connects its own Stripe account (« Paiement par carte »): publishable key, restricted
secret key, webhook signing secret. The secret key is checked by a harmless call (the balance) before
anything is saved; keys are encrypted at rest (services.payment_keys) and never shown again; the endpoint
URL (one per organisation, an unguessable token) is what the organisation pastes in Stripe's dashboard.
"""

from __future__ import annotations

import re
import secrets

import stripe
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import StripeAccount, TrainingProvider, User, utcnow
from marketplace.services import audit, payment_keys, stripe_gateway
from marketplace.services.errors import InvalidForm
from marketplace.services.locking import lock_row

_PUBLISHABLE = re.compile(r"^pk_(test|live)_[A-Za-z0-9]{6,200}$")
_SECRET = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{6,200}$")
_WEBHOOK = re.compile(r"^whsec_[A-Za-z0-9+/=]{6,200}$")


def account_of(provider_id: int) -> StripeAccount | None:
    return db.session.scalar(select(StripeAccount).where(StripeAccount.provider_id == provider_id))


def account_by_token(token: str) -> StripeAccount | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(StripeAccount).where(StripeAccount.webhook_token == token))


def card_payments_open(provider_id: int) -> bool:
    account = account_of(provider_id)
    return account is not None and account.connected


def _mode(key: str) -> str:
    return "test" if "_test_" in key else "live"


def connect(
    provider: TrainingProvider,
    actor: User,
    raw_publishable: str | None,
    raw_secret: str | None,
    raw_webhook_secret: str | None,
) -> StripeAccount:
    """Save the keys once Stripe accepted the secret key; an empty secret field keeps the saved one (to add
    the webhook secret after creating the endpoint). Wrong input: a French message at its field, nothing
    saved."""
    lock_row(TrainingProvider.__table__, provider.id)
    account = account_of(provider.id)
    publishable = (raw_publishable or "").strip()
    secret = (raw_secret or "").strip()
    webhook = (raw_webhook_secret or "").strip()
    errors: dict[str, str] = {}
    if not _PUBLISHABLE.match(publishable):
        errors["publishable_key"] = (
            "La clé publiable commence par pk_test_ ou pk_live_ (tableau de bord Stripe)."
        )
    if secret and not _SECRET.match(secret):
        errors["secret_key"] = (
            "La clé secrète commence par rk_test_, rk_live_ (clé restreinte, recommandée), sk_test_ ou sk_live_."
        )
    elif not secret and (account is None or not account.secret_key_encrypted):
        errors["secret_key"] = "Indiquez la clé secrète (de préférence une clé restreinte)."
    if webhook and not _WEBHOOK.match(webhook):
        errors["webhook_secret"] = "Le secret de signature du webhook commence par whsec_."
    if secret and publishable and not errors and _mode(secret) != _mode(publishable):
        errors["publishable_key"] = (
            "La clé publiable et la clé secrète doivent être toutes deux de test ou de production."
        )
    if errors:
        raise InvalidForm(errors)
    if secret:
        try:
            stripe_gateway.client_for_key(secret).v1.balance.retrieve()
        except stripe.StripeError as error:
            raise InvalidForm({"secret_key": stripe_gateway.french(error)}) from None
    if account is None:
        account = StripeAccount(provider_id=provider.id, webhook_token=secrets.token_urlsafe(32))
        db.session.add(account)
    changed = []
    if publishable != account.publishable_key:
        account.publishable_key = publishable
        changed.append("publishable_key")
    if secret:
        account.secret_key_encrypted = payment_keys.encrypt(secret)
        account.key_hint = payment_keys.hint(secret)
        account.connected_at = utcnow()
        account.connected_by_id = actor.id
        changed.append("secret_key")
    if webhook:
        account.webhook_secret_encrypted = payment_keys.encrypt(webhook)
        changed.append("webhook_secret")
    db.session.flush()
    if changed:
        # Which settings changed, never their values.
        audit.record(
            "provider.stripe_connected",
            organisation_id=provider.id,
            actor=actor,
            obj=provider,
            data={"fields": changed, "mode": _mode(publishable)},
        )
    return account


def disconnect(provider: TrainingProvider, actor: User) -> None:
    """Forget the keys and the endpoint (a new connection gets a new endpoint URL); card payment closes."""
    lock_row(TrainingProvider.__table__, provider.id)
    account = account_of(provider.id)
    if account is None:
        return
    db.session.delete(account)
    audit.record("provider.stripe_disconnected", organisation_id=provider.id, actor=actor, obj=provider)
