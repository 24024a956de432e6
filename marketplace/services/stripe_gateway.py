"""The one place that talks to Stripe: a client per organisation (its own decrypted key, per call: no global
``stripe.api_key`` leaking between organisations or tests), and Stripe's refusals said in French.

``STRIPE_API_BASE`` points every call at another server (localstripe in the tests); ``STRIPE_JS_URL`` is the
Stripe.js loaded by the card page.
"""

from __future__ import annotations

import stripe
from flask import current_app

from marketplace.models import StripeAccount
from marketplace.services import payment_keys
from marketplace.services.errors import DomainError

TIMEOUT_SECONDS = 20

# Stripe's decline and error codes (charge.failure_code, last_payment_error.code / decline_code) in French.
DECLINES = {
    "card_declined": "La carte a été refusée par la banque.",
    "generic_decline": "La carte a été refusée par la banque.",
    "do_not_honor": "La carte a été refusée par la banque.",
    "insufficient_funds": "Le solde ou le plafond de la carte est insuffisant.",
    "expired_card": "La carte a expiré.",
    "incorrect_cvc": "Le cryptogramme (CVC) est incorrect.",
    "invalid_cvc": "Le cryptogramme (CVC) est incorrect.",
    "incorrect_number": "Le numéro de carte est incorrect.",
    "invalid_number": "Le numéro de carte est incorrect.",
    "invalid_expiry_month": "Le mois d'expiration est incorrect.",
    "invalid_expiry_year": "L'année d'expiration est incorrecte.",
    "lost_card": "La carte a été déclarée perdue : la banque refuse le paiement.",
    "stolen_card": "La carte a été déclarée volée : la banque refuse le paiement.",
    "fraudulent": "La banque a refusé le paiement (suspicion de fraude).",
    "processing_error": "Une erreur est survenue pendant le traitement de la carte : réessayez.",
    "authentication_required": "La banque demande une authentification (3-D Secure) qui n'a pas abouti.",
    "payment_intent_authentication_failure": "L'authentification 3-D Secure a échoué ou a été annulée.",
    "card_not_supported": "Cette carte ne permet pas ce type de paiement.",
    "currency_not_supported": "Cette carte ne permet pas de payer en euros.",
}
DEFAULT_DECLINE = "Le paiement par carte a été refusé."


def decline_message(code: str | None, decline_code: str | None = None) -> str:
    return DECLINES.get(decline_code or "") or DECLINES.get(code or "") or DEFAULT_DECLINE


def client_for_key(secret_key: str) -> stripe.StripeClient:
    base = current_app.config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": base} if base else None,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=1,
    )


def client(account: StripeAccount) -> stripe.StripeClient:
    if account is None or not account.secret_key_encrypted:
        raise DomainError(
            "Cet organisme n'a pas connecté de compte Stripe : le paiement par carte est fermé."
        )
    return client_for_key(payment_keys.decrypt(account.secret_key_encrypted))


def webhook_secret(account: StripeAccount) -> str | None:
    if not account.webhook_secret_encrypted:
        return None
    return payment_keys.decrypt(account.webhook_secret_encrypted)


def french(error: stripe.StripeError) -> str:
    """A Stripe error as the user should read it (never the key, never Stripe's raw English)."""
    if isinstance(error, stripe.CardError):
        return decline_message(getattr(error, "code", None), getattr(error.error, "decline_code", None))
    if isinstance(error, stripe.AuthenticationError):
        return "Stripe refuse la clé secrète de l'organisme (clé révoquée ou erronée)."
    if isinstance(error, stripe.PermissionError):
        return "La clé restreinte de l'organisme n'a pas les droits nécessaires (PaymentIntents, Refunds)."
    if isinstance(error, stripe.APIConnectionError):
        return "Stripe ne répond pas pour le moment : réessayez dans quelques minutes."
    if isinstance(error, stripe.RateLimitError):
        return "Stripe reçoit trop de demandes : réessayez dans une minute."
    return "Stripe a refusé l'opération : réessayez ou contactez l'organisme de formation."
