"""Stripe webhooks against localstripe: delivered by localstripe itself to the app in a live server, and
events signed like Stripe signs them, posted to the organisation's endpoint. The webhook is only a trigger:
whatever the event says, the app acts on what localstripe answers about the PaymentIntent or Refund."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    CardPayment,
    InvoiceStatus,
    OutboxMessage,
    StripeRefund,
    WebhookEvent,
)
from marketplace.services import invoicing
from tests import localstripe
from tests.localstripe import event, signed
from tests.payments import billed, reload
from tests.web.pages import text as page_text

pytestmark = pytest.mark.usefixtures("fake_stripe")


def _pay_3ds(client, login, b, fake_stripe) -> dict:
    """The company starts a 3-D Secure payment: the invoice is « Paiement en cours »."""
    login(client, b.payer)
    answer = client.post(
        f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/payer",
        data={"payment_method": fake_stripe.payment_method(localstripe.CARD_3DS)},
    ).json
    assert reload(b.invoice).status == InvoiceStatus.PAYMENT_PENDING
    return answer


def _deliver(client, b, payload: dict, secret: str = localstripe.WEBHOOK_SECRET, **kwargs):
    body, signature = signed(payload, secret, **kwargs)
    return client.post(
        f"/paiements/stripe/{b.account.webhook_token}/webhook",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def _intent(fake_stripe, b) -> dict:
    intent_id = db.session.scalar(select(CardPayment.intent_id).where(CardPayment.invoice_id == b.invoice.id))
    return fake_stripe.get(f"/v1/payment_intents/{intent_id}")


def _count(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_localstripe_delivers_the_signed_event_to_the_live_app(
    app, client, login, make, fake_stripe, live_server, monkeypatch
):
    b = billed(make)
    fake_stripe.forget_webhooks("organisme-b")
    fake_stripe.register_webhook(
        "organisme-a",
        f"{live_server}/paiements/stripe/{b.account.webhook_token}/webhook",
        localstripe.WEBHOOK_SECRET,
    )
    try:
        answer = _pay_3ds(client, login, b, fake_stripe)
        monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # Stripe sends no CSRF token: exempt route
        fake_stripe.authenticate(answer["client_secret"])  # Stripe.js after 3-D Secure; nobody polls us
        deadline = time.monotonic() + 20
        while reload(b.invoice).status != InvoiceStatus.PAID and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.2)
        assert reload(b.invoice).status == InvoiceStatus.PAID
        received = db.session.scalar(
            select(WebhookEvent).where(WebhookEvent.event_type == "payment_intent.succeeded")
        )
        assert received.outcome == "processed" and received.event_id.startswith("evt_")
    finally:
        fake_stripe.forget_webhooks("organisme-a")


def test_the_same_event_replayed_ten_times_has_one_effect(client, login, make, fake_stripe):
    b = billed(make)
    answer = _pay_3ds(client, login, b, fake_stripe)
    fake_stripe.authenticate(answer["client_secret"])
    payload = event("evt_replayed0001", "payment_intent.succeeded", _intent(fake_stripe, b))
    statuses = [_deliver(client, b, payload).status_code for _ in range(10)]
    assert statuses == [200] * 10
    assert reload(b.invoice).status == InvoiceStatus.PAID
    assert _count("invoice.pay") == 2  # once for the organisation, once for the company: one payment
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    paid_mails = db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.template == "invoice_paid")
    )
    assert paid_mails == 2  # the payer and the organisation's admin, once each


def test_a_forged_unsigned_or_stale_event_is_refused_and_changes_nothing(
    client, login, make, fake_stripe, app
):
    b = billed(make)
    answer = _pay_3ds(client, login, b, fake_stripe)
    fake_stripe.authenticate(answer["client_secret"])
    payload = event("evt_forged00001", "payment_intent.succeeded", _intent(fake_stripe, b))
    assert _deliver(client, b, payload, secret="whsec_notTheOrganisationsOne").status_code == 400
    assert _deliver(client, b, payload, timestamp=int(time.time()) - 600).status_code == 400
    url = f"/paiements/stripe/{b.account.webhook_token}/webhook"
    assert client.post(url, data=b"{}", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post("/paiements/stripe/inconnu/webhook", data=b"{}").status_code == 400
    assert reload(b.invoice).status == InvoiceStatus.PAYMENT_PENDING
    assert _count("invoice.pay") == 0
    outcomes = db.session.scalars(select(WebhookEvent.outcome)).all()
    assert outcomes == ["rejected"] * 3  # the unknown endpoint keeps nothing: it is nobody's
    # The operator sees the refused deliveries, without any secret or payload.
    operator = make.operator()
    client.post("/deconnexion")
    login(client, operator)
    page = page_text(client.get("/operateur/webhooks-stripe"))
    assert "Signature invalide ou périmée" in page and "Requête sans signature Stripe" in page
    assert b.provider.name in page
    assert localstripe.WEBHOOK_SECRET not in page and "whsec_" not in page


def test_an_event_claiming_success_for_an_unpaid_intent_changes_nothing(client, login, make, fake_stripe):
    b = billed(make)
    _pay_3ds(client, login, b, fake_stripe)  # 3-D Secure never completed: Stripe says requires_action
    claimed = {**_intent(fake_stripe, b), "status": "succeeded"}
    answer = _deliver(client, b, event("evt_lying000001", "payment_intent.succeeded", claimed))
    assert answer.status_code == 200
    assert reload(b.invoice).status == InvoiceStatus.PAYMENT_PENDING
    assert db.session.scalar(select(CardPayment.status)) == "open"
    assert _count("invoice.pay") == 0


def test_events_out_of_order_follow_what_stripe_says(client, login, make, fake_stripe):
    b = billed(make)
    answer = _pay_3ds(client, login, b, fake_stripe)
    fake_stripe.authenticate(answer["client_secret"])
    intent = _intent(fake_stripe, b)
    # « failed » arrives first (an older event), but Stripe says the intent succeeded: paid.
    failed = {**intent, "status": "requires_payment_method"}
    assert (
        _deliver(client, b, event("evt_old_failed01", "payment_intent.payment_failed", failed)).status_code
        == 200
    )
    assert reload(b.invoice).status == InvoiceStatus.PAID
    assert (
        _deliver(client, b, event("evt_succeeded001", "payment_intent.succeeded", intent)).status_code == 200
    )
    assert (
        _deliver(client, b, event("evt_late_failed1", "payment_intent.payment_failed", failed)).status_code
        == 200
    )
    assert reload(b.invoice).status == InvoiceStatus.PAID
    assert _count("invoice.pay") == 2 and _count("invoice.payment_failed") == 0


def test_two_organisations_never_see_each_others_events(client, login, make, fake_stripe):
    a = billed(make)
    b = billed(
        make,
        name="Organisme B",
        keys=(localstripe.PUBLISHABLE_KEY_B, localstripe.SECRET_KEY_B, localstripe.WEBHOOK_SECRET_B),
    )
    answer = _pay_3ds(client, login, b, fake_stripe)
    fake_stripe.authenticate(answer["client_secret"], key=localstripe.PUBLISHABLE_KEY_B)
    payload = event("evt_b_succeeded1", "payment_intent.succeeded", _intent(fake_stripe, b))
    # Signed with A's secret, sent to B's endpoint: refused.
    assert _deliver(client, b, payload, secret=localstripe.WEBHOOK_SECRET).status_code == 400
    # Signed with A's secret, sent to A's endpoint: a valid delivery, but not A's object: ignored.
    assert _deliver(client, a, payload, secret=localstripe.WEBHOOK_SECRET).status_code == 200
    assert reload(b.invoice).status == InvoiceStatus.PAYMENT_PENDING
    assert reload(a.invoice).status == InvoiceStatus.ISSUED
    ignored = db.session.scalar(select(WebhookEvent).where(WebhookEvent.provider_id == a.provider.id))
    assert ignored.outcome == "ignored"
    # B's own signed event on B's endpoint settles B's invoice only.
    assert _deliver(client, b, payload, secret=localstripe.WEBHOOK_SECRET_B).status_code == 200
    assert reload(b.invoice).status == InvoiceStatus.PAID
    assert reload(a.invoice).status == InvoiceStatus.ISSUED


def test_charge_refunded_rereads_the_refund_from_stripe(client, login, make, fake_stripe):
    b = billed(make)
    login(client, b.payer)
    client.post(
        f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/payer",
        data={"payment_method": fake_stripe.payment_method(localstripe.CARD_OK)},
    )
    invoicing.credit(reload(b.invoice), b.provider_admin, "Ajustement OPCO", amount_cents=2000)
    db.session.commit()
    refund = db.session.scalar(select(StripeRefund))
    refund.status = "pending"  # as Stripe answers for some cards; settled later
    db.session.commit()
    charge = {"id": "ch_claimed", "object": "charge", "payment_intent": _intent(fake_stripe, b)["id"]}
    assert _deliver(client, b, event("evt_refunded0001", "charge.refunded", charge)).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(StripeRefund.status)) == "succeeded"


def test_the_same_event_delivered_concurrently_acts_once(app, client, login, make, fake_stripe):
    """Stripe may deliver one event twice at the same moment: the unique event id and the invoice's row
    lock leave one payment recorded (threads, each request with its own connection)."""
    from concurrent.futures import ThreadPoolExecutor

    b = billed(make)
    answer = _pay_3ds(client, login, b, fake_stripe)
    fake_stripe.authenticate(answer["client_secret"])
    payload = event("evt_concurrent01", "payment_intent.succeeded", _intent(fake_stripe, b))
    body, signature = signed(payload, localstripe.WEBHOOK_SECRET)
    url = f"/paiements/stripe/{b.account.webhook_token}/webhook"
    db.session.commit()

    def deliver(_):
        return (
            app.test_client()
            .post(url, data=body, headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
            .status_code
        )

    def deliver_until_accepted(attempt):
        # As Stripe does: a delivery answered otherwise than 2xx (a lock not had in time, on a loaded SQLite)
        # is delivered again.
        status = deliver(attempt)
        for _ in range(10):
            if status == 200:
                break
            assert status in (409, 500), status
            status = deliver(attempt)
        return status

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(deliver_until_accepted, range(6)))
    assert statuses == [200] * 6
    assert reload(b.invoice).status == InvoiceStatus.PAID
    assert _count("invoice.pay") == 2  # the organisation's and the company's record of one payment
    received = (
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.event_id == "evt_concurrent01")
    )
    assert db.session.scalar(received) == 1


def test_a_payment_whose_record_was_lost_is_taken_back_from_stripe(client, login, make, fake_stripe):
    """Stripe charged, but our request failed before its commit: the signed event brings the invoice back to
    what Stripe says (its metadata names our invoice and organisation, the amount is what is owed)."""
    b = billed(make)
    intent = fake_stripe.post(
        "/v1/payment_intents",
        {
            "amount": str(b.invoice.total_ttc_cents),
            "currency": "eur",
            "payment_method": fake_stripe.payment_method(localstripe.CARD_OK),
            "confirm": "true",
            "metadata[invoice_id]": str(b.invoice.id),
            "metadata[provider_id]": str(b.provider.id),
            "metadata[company_id]": str(b.company.id),
        },
    )
    assert intent["status"] == "succeeded"
    wrong = fake_stripe.post(
        "/v1/payment_intents",
        {
            "amount": "100",
            "currency": "eur",
            "payment_method": fake_stripe.payment_method(localstripe.CARD_OK),
            "confirm": "true",
            "metadata[invoice_id]": str(b.invoice.id),
            "metadata[provider_id]": str(b.provider.id),
        },
    )
    assert (
        _deliver(client, b, event("evt_wrong_amount", "payment_intent.succeeded", wrong)).status_code == 200
    )
    assert reload(b.invoice).status == InvoiceStatus.ISSUED  # 1,00 € is not what is owed: ignored
    assert (
        _deliver(client, b, event("evt_lost_record1", "payment_intent.succeeded", intent)).status_code == 200
    )
    invoice = reload(b.invoice)
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_reference == intent["id"]
