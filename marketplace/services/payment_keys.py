"""Encryption at rest of the organisations' Stripe keys (Fernet: AES-128-CBC + HMAC-SHA256).

The Fernet key is derived from ``PAYMENT_KEYS_SECRET`` (SHA-256 of it, base64): the database alone never
gives a usable key. A key is decrypted only for the call to Stripe that needs it and never logged, shown or
written to the audit trail; the pages show a hint (« rk_test_…a1b2 ») and when it was saved.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from marketplace.services.errors import DomainError


def _fernet() -> Fernet:
    secret = current_app.config["PAYMENT_KEYS_SECRET"]
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DomainError(
            "Les clés Stripe enregistrées ne peuvent pas être déchiffrées (PAYMENT_KEYS_SECRET a changé) : "
            "l'organisme doit les saisir de nouveau."
        ) from None


def hint(key: str) -> str:
    """« sk_test_…4242 »: enough to recognise the key, never enough to use it."""
    prefix = key.split("_")[0] + "_" + ("test_" if "_test_" in key else "live_" if "_live_" in key else "")
    return f"{prefix}…{key[-4:]}"
