"""localstripe, a fake Stripe server (dev dependency), started once per test session on a free port with
``--from-scratch``; the app is pointed at it per test (``STRIPE_API_BASE``, ``STRIPE_JS_URL`` in its config,
restored afterwards: no global ``stripe.api_key``/``api_base`` leaking into other tests). A missing or
broken localstripe FAILS the payment tests, never skips them.

Helpers build what the tests need on it: payment methods for the test cards, webhooks registered with a
secret (``POST /_config/webhooks/<id>``), a 3-D Secure answer as Stripe.js would give it, events signed
like Stripe signs them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import requests

SECRET_KEY = "sk_test_SecretOfOrganismeA7q2"
PUBLISHABLE_KEY = "pk_test_localstripeOrganismeA01"
SECRET_KEY_B = "sk_test_SecretOfOrganismeB5w8"
PUBLISHABLE_KEY_B = "pk_test_localstripeOrganismeB02"
WEBHOOK_SECRET = "whsec_testSecretOrganismeA0001"
WEBHOOK_SECRET_B = "whsec_testSecretOrganismeB0002"

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, then the charge is declined (card_declined)
CARD_3DS = "4000002500003155"  # requires 3-D Secure authentication


@dataclass
class FakeStripe:
    url: str

    def get(self, path: str, key: str = SECRET_KEY) -> dict:
        response = requests.get(f"{self.url}{path}", auth=(key, ""), timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, data: dict, key: str = SECRET_KEY) -> dict:
        response = requests.post(f"{self.url}{path}", data=data, auth=(key, ""), timeout=10)
        response.raise_for_status()
        return response.json()

    def payment_method(self, number: str) -> str:
        return self.post(
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
        )["id"]

    def authenticate(self, client_secret: str, success: bool = True, key: str = PUBLISHABLE_KEY) -> dict:
        """What Stripe.js does when the payer completes (or fails) 3-D Secure."""
        intent = client_secret.split("_secret_")[0]
        response = requests.post(
            f"{self.url}/v1/payment_intents/{intent}/_authenticate?success={'true' if success else 'false'}",
            data=json.dumps({"key": key, "client_secret": client_secret}),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        requests.post(
            f"{self.url}/_config/webhooks/{name}", data={"url": url, "secret": secret}, timeout=10
        ).raise_for_status()

    def forget_webhooks(self, *names: str) -> None:
        """Point old registrations at nowhere (localstripe cannot delete them)."""
        for name in names:
            self.register_webhook(name, "http://127.0.0.1:9/", "whsec_unused0000")


def signed(payload: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
    """An event body and its Stripe-Signature header, computed like Stripe does."""
    body = json.dumps(payload).encode()
    t = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={t},v1={signature}"


def event(event_id: str, event_type: str, obj: dict) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--from-scratch", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as error:  # pragma: no cover - environment problem, reported as a failure
        pytest.fail(
            f"localstripe ne démarre pas ({error}) : installez les dépendances de dev (pip install -e '.[dev]')."
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                "localstripe s'est arrêté au démarrage : est-il installé (pip install -e '.[dev]') ?",
                pytrace=False,
            )
        try:
            if requests.get(f"{url}/v1/balance", auth=(SECRET_KEY, ""), timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    pytest.fail("localstripe ne répond pas après 30 secondes.", pytrace=False)
