"""Stripe's webhook endpoint, one per training organisation (an unguessable token in the URL): public,
without CSRF token (Stripe signs the request instead; services.stripe_webhooks checks the signature)."""

from __future__ import annotations

from flask import request

from marketplace.blueprints.public.routes import bp
from marketplace.extensions import csrf, limiter
from marketplace.services import stripe_webhooks
from marketplace.web.actions import perform
from marketplace.web.guard import public


@bp.post("/paiements/stripe/<token>/webhook")
@csrf.exempt
@limiter.exempt
@public
def stripe_webhook(token: str):
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature")
    return perform(
        lambda: stripe_webhooks.receive(token, payload, signature),
        done=lambda answer: (answer.text, answer.status, {"Content-Type": "text/plain; charset=utf-8"}),
        # Nothing kept (e.g. a row lock not had in time): a non-2xx answer makes Stripe deliver it again.
        failed=lambda error: (error.message, {"Content-Type": "text/plain; charset=utf-8"}),
    )
