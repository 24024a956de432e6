"""Card payments of company invoices against localstripe (a real fake Stripe server, started by the
``localstripe_server`` fixture): the organisation connects its account (key checked, encrypted at rest), the
company pays (success, decline in French, 3-D Secure), the receipt « acquittée », retries reuse the open
PaymentIntent, refunds of credit notes, the reconciliation job, transfers marked received by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    CardPayment,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    StripeAccount,
    StripeRefund,
)
from marketplace.services import invoicing, scheduler, stripe_settings
from marketplace.services.errors import InvalidForm
from tests import localstripe
from tests.payments import billed, reload
from tests.web.pages import text as page_text

pytestmark = pytest.mark.usefixtures("fake_stripe")


def _as(client, login, user) -> None:
    """Sign ``user`` in on ``client`` (signing out whoever was)."""
    if getattr(client, "signed_in", None) == user.id:
        return
    if getattr(client, "signed_in", None) is not None:
        client.post("/deconnexion")
    login(client, user)
    client.signed_in = user.id


def _pay(client, login, b, pm: str):
    _as(client, login, b.payer)
    return client.post(
        f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/payer", data={"payment_method": pm}
    )


def _pdf_text(data: bytes) -> str:
    import io

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_key_is_checked_by_stripe_and_encrypted_at_rest(app, make, fake_stripe):
    b = billed(make, connect=False)
    with pytest.raises(InvalidForm) as refused:
        stripe_settings.connect(b.provider, b.provider_admin, "pk_test_abcdef", "rk_test_wrongkey1", "")
    assert "Stripe refuse la clé secrète" in refused.value.errors["secret_key"]  # localstripe: 401
    db.session.rollback()
    with pytest.raises(InvalidForm) as malformed:
        stripe_settings.connect(b.provider, b.provider_admin, "nope", "pas-une-cle", "whsec")
    assert set(malformed.value.errors) == {"publishable_key", "secret_key", "webhook_secret"}
    db.session.rollback()
    unreachable = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    try:
        with pytest.raises(InvalidForm) as offline:
            stripe_settings.connect(
                b.provider, b.provider_admin, localstripe.PUBLISHABLE_KEY, localstripe.SECRET_KEY, ""
            )
    finally:
        app.config["STRIPE_API_BASE"] = unreachable
    assert "Stripe ne répond pas" in offline.value.errors["secret_key"]
    db.session.rollback()
    assert db.session.scalar(select(StripeAccount)) is None
    stripe_settings.connect(
        b.provider,
        b.provider_admin,
        localstripe.PUBLISHABLE_KEY,
        localstripe.SECRET_KEY,
        localstripe.WEBHOOK_SECRET,
    )
    db.session.commit()
    # The database holds no plaintext secret: not in the row, not in the audit trail, not anywhere.
    for table in ("stripe_accounts", "audit_events"):
        dump = " ".join(str(row) for row in db.session.execute(text(f"SELECT * FROM {table}")))
        assert localstripe.SECRET_KEY not in dump and localstripe.WEBHOOK_SECRET not in dump
        assert "SecretOfOrganismeA7q2" not in dump and "testSecretOrganismeA0001" not in dump
    account = db.session.scalar(select(StripeAccount))
    assert account.secret_key_encrypted.startswith("gAAAA")  # a Fernet token
    assert account.key_hint == "sk_test_…A7q2"


def test_the_settings_page_never_shows_the_key_again(client, login, make, fake_stripe):
    b = billed(make)
    _as(client, login, b.provider_admin)
    page = page_text(client.get(f"/of/{b.provider.slug}/paiement-carte"))
    assert "clé enregistrée le" in page and "sk_test_…A7q2" in page
    assert localstripe.SECRET_KEY not in page and localstripe.WEBHOOK_SECRET not in page
    assert f"/paiements/stripe/{b.account.webhook_token}/webhook" in page
    wrong = client.post(
        f"/of/{b.provider.slug}/paiement-carte",
        data={"publishable_key": "pk_test_abcdef12", "secret_key": "rk_test_wrongkey1"},
    )
    assert wrong.status_code == 422 and "Stripe refuse la clé secrète" in page_text(wrong)
    gone = client.post(f"/of/{b.provider.slug}/paiement-carte/deconnecter")
    assert gone.status_code == 303 and db.session.scalar(select(StripeAccount)) is None


def test_card_4242_pays_the_invoice_with_a_receipt(client, login, make, fake_stripe, outbox):
    b = billed(make)
    owed = b.invoice.total_ttc_cents
    answer = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_OK))
    assert answer.status_code == 200 and answer.json["client_secret"] is None
    invoice = reload(b.invoice)
    assert invoice.status == InvoiceStatus.PAID and invoice.payment_means == "card"
    payment = db.session.scalar(select(CardPayment))
    intent = fake_stripe.get(f"/v1/payment_intents/{payment.intent_id}")
    # The amount and currency come from our database; the metadata names our invoice and organisations.
    assert (intent["amount"], intent["currency"], intent["status"]) == (owed, "eur", "succeeded")
    assert intent["metadata"]["invoice_id"] == str(invoice.id)
    assert intent["metadata"]["provider_id"] == str(b.provider.id)
    assert intent["metadata"]["company_id"] == str(b.company.id)
    result = page_text(client.get(answer.json["next"]))
    assert "Payée" in result and "carte bancaire" in result
    receipt = client.get(f"/entreprise/{b.company.slug}/factures/{invoice.id}/acquittee.pdf")
    assert receipt.status_code == 200
    stamped = _pdf_text(receipt.data)
    assert "ACQUITTÉE" in stamped and "carte bancaire" in stamped
    # The issued invoice's PDF is untouched: the receipt is another document.
    original = client.get(f"/entreprise/{b.company.slug}/factures/{invoice.id}/pdf")
    assert "ACQUITTÉE" not in _pdf_text(original.data)
    assert invoice.receipt_storage_key != invoice.storage_key
    assert any("payée" in m.subject for m in outbox(b.payer.email))
    assert any("payée" in m.subject for m in outbox(b.provider_admin.email))
    # Paying again is refused in French, nothing charged twice.
    again = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_OK))
    assert again.status_code == 422
    assert db.session.query(CardPayment).count() == 1


def test_a_declined_card_leaves_the_invoice_issued_with_the_reason_in_french(
    client, login, make, fake_stripe
):
    b = billed(make)
    answer = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_DECLINED))
    assert answer.status_code == 200
    invoice = reload(b.invoice)
    assert invoice.status == InvoiceStatus.ISSUED
    result = page_text(client.get(answer.json["next"]))
    assert "La carte a été refusée par la banque." in result and "Réessayer" in result
    events = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert "invoice.start_payment" in events and "invoice.payment_failed" in events
    # A new attempt gets a new PaymentIntent (the declined one is closed), and succeeds.
    ok = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_OK))
    assert ok.status_code == 200 and reload(b.invoice).status == InvoiceStatus.PAID
    payments = db.session.scalars(select(CardPayment).order_by(CardPayment.id)).all()
    assert [p.status for p in payments] == ["failed", "succeeded"]
    assert payments[0].intent_id != payments[1].intent_id


def test_3d_secure_is_asked_then_the_result_page_confirms(client, login, make, fake_stripe):
    b = billed(make)
    answer = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_3DS))
    assert answer.json["status"] == "requires_action" and answer.json["client_secret"]
    assert reload(b.invoice).status == InvoiceStatus.PAYMENT_PENDING
    page = page_text(client.get(answer.json["next"]))
    assert "Paiement en cours" in page
    # A retry while 3-D Secure is pending reuses the same PaymentIntent.
    retry = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_3DS))
    assert retry.json["client_secret"] == answer.json["client_secret"]
    assert db.session.query(CardPayment).count() == 1
    fake_stripe.authenticate(answer.json["client_secret"], success=True)
    polled = client.post(
        f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/paiement/verifier",
        headers={"HX-Request": "true"},
    )
    assert polled.status_code == 200 and "Payée" in page_text(polled)
    assert reload(b.invoice).status == InvoiceStatus.PAID


def test_a_failed_3d_secure_says_so(client, login, make, fake_stripe):
    b = billed(make)
    answer = _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_3DS))
    fake_stripe.authenticate(answer.json["client_secret"], success=False)
    polled = client.post(f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/paiement/verifier")
    assert "L'authentification 3-D Secure a échoué" in page_text(polled)
    assert reload(b.invoice).status == InvoiceStatus.ISSUED


def test_refunds_full_and_partial_follow_the_credit_notes(client, login, make, fake_stripe, outbox):
    b = billed(make)
    _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_OK))
    invoice = reload(b.invoice)
    payment = db.session.scalar(select(CardPayment))
    note = invoicing.credit(invoice, b.provider_admin, "Prise en charge OPCO revue", amount_cents=1000)
    db.session.commit()
    first = db.session.scalar(select(StripeRefund))
    assert (first.status, first.amount_cents) == ("succeeded", note.total_ttc_cents)
    assert fake_stripe.get(f"/v1/refunds/{first.refund_id}")["amount"] == note.total_ttc_cents
    assert reload(invoice).status == InvoiceStatus.PAID  # partly refunded, still paid
    rest = invoicing.credit(reload(invoice), b.provider_admin, "Annulation à temps")
    db.session.commit()
    refunds = db.session.scalars(select(StripeRefund).order_by(StripeRefund.id)).all()
    assert [r.amount_cents for r in refunds] == [
        note.total_ttc_cents,
        payment.amount_cents - note.total_ttc_cents,
    ]
    assert {r.credit_note_id for r in refunds} == {note.id, rest.id}
    assert reload(invoice).status == InvoiceStatus.CANCELLED
    told = [m.subject for m in outbox(b.payer.email) if "Remboursement" in m.subject]
    assert len(told) == 2
    # The refund is idempotent per credit note: asking again does nothing more.
    from marketplace.services import stripe_refunds

    assert stripe_refunds.refund_credit_note(note, reload(invoice), None).id == refunds[0].id
    assert db.session.query(StripeRefund).count() == 2
    page = page_text(client.get(f"/entreprise/{b.company.slug}/factures/{invoice.id}"))
    assert "Remboursé" in page


def test_a_refund_stripe_refuses_is_shown_in_french(client, login, make, fake_stripe):
    b = billed(make)
    _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_OK))
    # The organisation's key is revoked meanwhile (localstripe refuses keys not starting with sk_).
    account = db.session.scalar(select(StripeAccount))
    from marketplace.services import payment_keys

    account.secret_key_encrypted = payment_keys.encrypt("rk_test_revoked0000")
    db.session.commit()
    invoicing.credit(reload(b.invoice), b.provider_admin, "Geste commercial", amount_cents=500)
    db.session.commit()
    refund = db.session.scalar(select(StripeRefund))
    assert refund.status == "failed" and "Stripe refuse la clé secrète" in refund.failure_message
    _as(client, login, b.provider_admin)
    page = page_text(client.get(f"/of/{b.provider.slug}/factures/{b.invoice.id}"))
    assert "Remboursement refusé" in page


def test_reconciliation_settles_payments_open_for_more_than_an_hour(client, login, make, fake_stripe):
    paid_later = billed(make)
    abandoned = billed(make, name="Organisme Deux")
    first = _pay(client, login, paid_later, fake_stripe.payment_method(localstripe.CARD_3DS))
    _pay(client, login, abandoned, fake_stripe.payment_method(localstripe.CARD_3DS))
    fake_stripe.authenticate(first.json["client_secret"], success=True)  # no webhook, tab closed
    assert scheduler.run_job("rapprochement-stripe").outcome.count == 0  # too recent: left alone
    for payment in db.session.scalars(select(CardPayment)):
        payment.created_at -= timedelta(hours=2)
    db.session.commit()
    result = scheduler.run_job("rapprochement-stripe")
    assert result.outcome.count == 2
    assert reload(paid_later.invoice).status == InvoiceStatus.PAID
    back = reload(abandoned.invoice)
    assert back.status == InvoiceStatus.ISSUED
    intent_id = db.session.scalar(select(CardPayment.intent_id).where(CardPayment.invoice_id == back.id))
    assert fake_stripe.get(f"/v1/payment_intents/{intent_id}")["status"] == "canceled"


def test_without_stripe_the_company_sees_the_transfer_and_the_organisation_marks_it(
    client, login, make, fake_stripe, outbox
):
    from marketplace.services import bank_details

    b = billed(make, connect=False)
    bank_details.request_change(
        b.provider, b.provider_admin, "FR7630006000011234567890189", "", "Formations du Rhône"
    )
    bank_details.apply_pending_for_demo(b.provider, b.provider_admin)
    db.session.commit()
    _as(client, login, b.payer)
    page = page_text(client.get(f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/payer"))
    assert "FR7630006000011234567890189" in page and "Par carte" not in page
    refused = client.post(
        f"/entreprise/{b.company.slug}/factures/{b.invoice.id}/payer", data={"payment_method": "pm_abcdefgh"}
    )
    assert refused.status_code == 422 and reload(b.invoice).status == InvoiceStatus.ISSUED
    _as(client, login, b.provider_admin)
    url = f"/of/{b.provider.slug}/factures/{b.invoice.id}/virement-recu"
    future = client.post(url, data={"received_on": "2999-01-01", "reference": "VIR 42"})
    assert future.status_code == 422 and "futur" in page_text(future)
    done = client.post(
        url, data={"received_on": reload(b.invoice).issued_on.isoformat(), "reference": "VIR 42"}
    )
    assert done.status_code == 303
    invoice = reload(b.invoice)
    assert (invoice.status, invoice.payment_means, invoice.payment_reference) == (
        "paid",
        "transfer",
        "VIR 42",
    )
    pay = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invoice.pay").limit(1))
    assert pay.data["means"] == "transfer"
    assert any("payée" in m.subject for m in outbox(b.payer.email))
    assert (
        db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "invoice_paid")) is not None
    )
    receipt = client.get(f"/of/{b.provider.slug}/factures/{invoice.id}/acquittee.pdf")
    assert "virement bancaire" in _pdf_text(receipt.data)


def test_another_company_cannot_pay_or_poll_an_invoice(client, login, make, fake_stripe):
    b = billed(make)
    other = make.user()
    other_company = make.company(admin=other)
    _as(client, login, other)
    base = f"/entreprise/{other_company.slug}/factures/{b.invoice.id}"
    assert client.get(f"{base}/payer").status_code == 404
    assert client.post(f"{base}/payer", data={"payment_method": "pm_abcdefgh"}).status_code == 404
    assert client.post(f"{base}/paiement/verifier").status_code == 404
    assert reload(b.invoice).status == InvoiceStatus.ISSUED
    assert db.session.query(Invoice).count() >= 1


def test_production_refuses_to_start_without_the_payment_keys_secret():
    from marketplace.config import load_config

    with pytest.raises(RuntimeError, match="PAYMENT_KEYS_SECRET"):
        load_config({"ENV_NAME": "production", "SECRET_KEY": "s" * 32, "PAYMENT_KEYS_SECRET": None})
    settings = load_config(
        {"ENV_NAME": "production", "SECRET_KEY": "s" * 32, "PAYMENT_KEYS_SECRET": "k" * 40}
    )
    assert settings["PAYMENT_KEYS_SECRET"] == "k" * 40


def test_while_stripe_has_not_answered_no_credit_note_nor_transfer_is_recorded(
    client, login, make, fake_stripe
):
    from marketplace.formatting import paris_today
    from marketplace.services import card_payments
    from marketplace.services.errors import DomainError

    b = billed(make)
    _pay(client, login, b, fake_stripe.payment_method(localstripe.CARD_3DS))
    invoice = reload(b.invoice)
    assert invoice.status == InvoiceStatus.PAYMENT_PENDING
    with pytest.raises(DomainError, match="paiement par carte est en cours"):
        invoicing.credit(invoice, b.provider_admin, "Erreur", amount_cents=100)
    db.session.rollback()
    with pytest.raises(DomainError, match="paiement par carte est en cours"):
        card_payments.mark_transfer_received(reload(b.invoice), b.provider_admin, paris_today(), "VIR 1")
    db.session.rollback()
    assert reload(b.invoice).status == InvoiceStatus.PAYMENT_PENDING
