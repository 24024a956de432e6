"""The OPCO's control of its invoices: automatic checks, sampling, requests, validation, rejection, payment
batches with their SEPA file, and the organisation's bank details confirmed by email."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sepaxml.validation import try_valid_xml
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    Document,
    HalfDayAttestation,
    Invoice,
    PaymentBatch,
    TrainingProvider,
    TrainingSession,
)
from marketplace.services import (
    bank_details,
    invoice_checks,
    invoice_control,
    invoice_states,
    payments,
    storage,
)
from marketplace.services import outbox as outbox_service
from marketplace.services.errors import DomainError, InvalidForm
from tests.opco_invoices import (
    IBAN_FR,
    controlled_session,
    issued_invoice,
    opco_invoice,
    with_bank,
    with_payer_account,
)


def _checks(invoice) -> dict[str, bool]:
    return {c.label: c.ok for c in invoice_checks.check(invoice).checks}


def test_a_complete_invoice_passes_every_automatic_check(make):
    invoice = opco_invoice(make)
    report = invoice_checks.check(invoice)
    assert report.ok, [(c.label, c.detail) for c in report.checks if not c.ok]
    assert len(report.checks) == 6


def test_each_missing_proof_or_wrong_figure_fails_its_own_check(make):
    session, enrolments = controlled_session(make)
    # Minutes charged differ from those frozen; amount above the funded share; unit price above negotiated.
    invoice = issued_invoice(
        session,
        enrolments,
        line_changes={
            1: {
                "minutes_done": enrolments[1].attended_minutes + 60,
                "amount_ht_cents": enrolments[1].funded_cents + 100,
                "unit_price_cents": session.referencing.price_cents + 1,
            }
        },
    )
    # One half-day not attested.
    attestation = db.session.scalars(
        select(HalfDayAttestation).where(HalfDayAttestation.session_id == session.id)
    ).first()
    db.session.delete(attestation)
    # One certificate superseded (no current certificate for that trainee).
    certificate = db.session.scalar(select(Document).where(Document.enrolment_id == enrolments[0].id))
    certificate.superseded_by_id = certificate.id
    db.session.commit()
    checks = _checks(invoice)
    assert checks == {
        "Chaque demi-journée de la session est attestée": False,
        "Un certificat de réalisation pour chaque stagiaire facturé": False,
        "Les heures facturées sont celles réalisées (figées à la clôture)": False,
        "Les montants correspondent à la prise en charge figée et le total à la somme des lignes": False,
        "Le référencement de l'organisme était valide aux dates de la session": True,
        "Le prix unitaire ne dépasse pas le prix négocié": False,
    }


def test_a_referencing_withdrawn_or_starting_after_the_session_fails(make):
    invoice = opco_invoice(make)
    session = db.session.get(TrainingSession, invoice.session_id)
    session.referencing.valid_from = session.end_date + timedelta(days=1)
    db.session.commit()
    assert _checks(invoice)["Le référencement de l'organisme était valide aux dates de la session"] is False


@pytest.mark.parametrize(("rate", "expected"), [(0, 0), (100, 6)])
def test_the_sampling_rate_is_honoured(make, rate, expected):
    opco = make.opco("akto")
    opco.control_sampling_pct = rate
    db.session.commit()
    invoices = [opco_invoice(make, trainees=1) for _ in range(6)]
    assert invoice_control.take_issued(opco, None) == 6
    db.session.commit()
    assert sum(db.session.get(Invoice, i.id).sampled for i in invoices) == expected
    assert {db.session.get(Invoice, i.id).status for i in invoices} == {"in_control"}


def test_the_draw_is_deterministic_and_near_the_rate():
    tickets = [invoice_control.sample_ticket(7, n) for n in range(1, 2001)]
    assert tickets == [invoice_control.sample_ticket(7, n) for n in range(1, 2001)]
    drawn = sum(t < 10 for t in tickets)
    assert 140 <= drawn <= 260  # about 10 % of 2 000


def test_request_answer_validate_partially_with_reason(make, outbox):
    opco = make.opco("akto")
    invoice = opco_invoice(make)
    controller = make.user()
    with pytest.raises(DomainError, match="date limite"):
        invoice_control.request_info(
            invoice, controller, opco, "Feuilles d'émargement signées", paris_today()
        )
    db.session.rollback()
    invoice_control.request_info(
        invoice, controller, opco, "Feuilles d'émargement signées", paris_today() + timedelta(days=10)
    )
    db.session.commit()
    assert invoice.status == "info_requested" and invoice.info_deadline == paris_today() + timedelta(days=10)
    mails = [m for m in outbox() if "demande des compléments" in m.subject]
    assert mails and "Feuilles d'émargement signées" in mails[0].body_text
    provider_user = make.user()
    with pytest.raises(DomainError):
        invoice_control.answer(invoice, provider_user, "Déposées hier", invoice.provider_id + 999)
    db.session.rollback()
    invoice_control.answer(
        invoice, provider_user, "Feuilles déposées sur la plateforme.", invoice.provider_id
    )
    db.session.commit()
    assert invoice.status == "in_control"
    with pytest.raises(DomainError, match="dépasser le total"):
        invoice_control.validate(invoice, controller, opco, invoice.total_ttc_cents + 1)
    db.session.rollback()
    with pytest.raises(DomainError, match="motif"):
        invoice_control.validate(invoice, controller, opco, invoice.total_ttc_cents - 500, "")
    db.session.rollback()
    invoice_control.validate(
        invoice, controller, opco, invoice.total_ttc_cents - 500, "Une demi-journée non due"
    )
    db.session.commit()
    assert invoice.status == "validated"
    assert invoice.validated_cents == invoice.total_ttc_cents - 500
    assert invoice.adjustment_reason == "Une demi-journée non due"
    assert any("validée" in m.subject for m in outbox())


def test_reject_requires_a_reason_and_tells_the_organisation(make, outbox):
    opco = make.opco("akto")
    invoice = opco_invoice(make)
    with pytest.raises(DomainError, match="motif du rejet"):
        invoice_control.reject(invoice, make.user(), opco, " ")
    db.session.rollback()
    invoice_control.reject(invoice, make.user(), opco, "Session non prévue au catalogue")
    db.session.commit()
    assert invoice.status == "rejected"
    assert any("rejetée" in m.subject and "Session non prévue" in m.body_text for m in outbox())


def test_control_events_on_a_company_invoice_are_refused(make):
    opco = make.opco("akto")
    company = make.company("akto")
    invoice = opco_invoice(make, payer="company", company_id=company.id)
    with pytest.raises(DomainError):
        invoice_control.start_control(invoice, make.user(), opco)
    for event in ("start_control", "validate", "reject"):
        with pytest.raises(DomainError, match="Seules les factures adressées à l'OPCO"):
            invoice_states.transition(invoice, event, None)
    assert invoice.status == "issued"


def test_another_opcos_invoice_cannot_be_controlled(make):
    atlas = make.opco("atlas")
    invoice = opco_invoice(make, opco_code="akto")
    with pytest.raises(DomainError):
        invoice_control.validate(invoice, make.user(), atlas)


def test_bulk_validation_takes_only_unsampled_invoices_whose_checks_pass(make):
    opco = make.opco("akto")
    opco.control_sampling_pct = 0
    good = [opco_invoice(make, trainees=1) for _ in range(2)]
    bad = opco_invoice(make, trainees=1, line_changes={0: {"minutes_done": 1}})
    with pytest.raises(DomainError, match="contrôles automatiques en échec"):
        invoice_control.validate_checked([g.id for g in good] + [bad.id], make.user(), opco)
    db.session.rollback()
    assert db.session.get(Invoice, good[0].id).status == "issued"
    assert invoice_control.validate_checked([g.id for g in good], make.user(), opco) == 2
    db.session.commit()
    assert {db.session.get(Invoice, g.id).status for g in good} == {"validated"}
    sampled = opco_invoice(make, trainees=1)
    opco.control_sampling_pct = 100
    invoice_control.start_control(sampled, make.user(), opco)
    db.session.commit()
    with pytest.raises(DomainError, match="tirée au sort"):
        invoice_control.validate_checked([sampled.id], make.user(), opco)


def _validated(make, opco, provider=None, n=2):
    invoices = []
    for _ in range(n):
        invoice = opco_invoice(make, provider=provider, trainees=1)
        invoice_control.validate(invoice, None, opco)
        invoices.append(invoice)
    db.session.commit()
    return invoices


def test_paying_a_non_validated_invoice_is_refused(make):
    opco = make.opco("akto")
    with_payer_account(opco)
    invoice = opco_invoice(make)
    with_bank(_provider(invoice))
    with pytest.raises(DomainError, match="validée"):
        payments.create_batch(opco, make.user(), [invoice.id], None)


def _provider(invoice):
    return db.session.get(TrainingProvider, invoice.provider_id)


def test_a_batch_refuses_an_organisation_without_a_confirmed_iban(make):
    opco = make.opco("akto")
    with_payer_account(opco)
    [invoice] = _validated(make, opco, n=1)
    provider = _provider(invoice)
    provider.pending_iban = IBAN_FR  # pending only: not confirmed
    db.session.commit()
    with pytest.raises(DomainError, match="coordonnées bancaires confirmées"):
        payments.create_batch(opco, make.user(), [invoice.id], None)
    db.session.rollback()
    assert db.session.scalar(select(PaymentBatch.id)) is None


def test_batch_sepa_file_validates_and_paying_it_pays_each_invoice(make, outbox):
    opco = make.opco("akto")
    with_payer_account(opco)
    provider_admin = make.user()
    provider = make.provider(admin=provider_admin)
    with_bank(provider)
    invoices = _validated(make, opco, provider=provider, n=3)
    invoice_control_partial = invoices[0]
    invoice_control_partial.validated_cents -= 1234
    db.session.commit()
    batch = payments.create_batch(
        opco, make.user(), [i.id for i in invoices], paris_today() + timedelta(days=2)
    )
    db.session.commit()
    assert batch.invoice_count == 3
    assert batch.total_cents == sum(i.validated_cents for i in invoices)
    xml = storage.storage().read(batch.sepa_storage_key)
    assert hashlib.sha256(xml).hexdigest() == batch.sepa_sha256
    try_valid_xml(xml, "pain.001.001.03")  # raises if the file does not match its schema
    text = xml.decode()
    assert IBAN_FR in text and opco.payer_iban in text
    assert f"<MsgId>{batch.reference}</MsgId>" in text
    for invoice in invoices:
        assert invoice.number in text
        euros = f"{invoice.validated_cents // 100}.{invoice.validated_cents % 100:02d}"
        assert f">{euros}</InstdAmt>" in text
    assert re.search(rf"<CtrlSum>{batch.total_cents // 100}\.{batch.total_cents % 100:02d}</CtrlSum>", text)
    with pytest.raises(DomainError, match="validée et hors lot"):
        payments.create_batch(opco, make.user(), [invoices[0].id], None)
    db.session.rollback()
    name, data = payments.export_file(batch, make.user(), opco)
    db.session.commit()
    assert data == xml and batch.status == "exported" and name.endswith(".xml")
    payments.mark_paid(batch, make.user(), opco)
    db.session.commit()
    for invoice in invoices:
        db.session.refresh(invoice)
        assert invoice.status == "paid" and invoice.paid_on == paris_today()
        assert invoice.payment_reference == batch.reference
    mails = outbox(provider_admin.email)
    paid = [m for m in mails if "a payé 3 facture(s)" in m.subject]
    assert len(paid) == 1 and all(i.number in paid[0].body_text for i in invoices)
    with pytest.raises(DomainError, match="déjà marqué payé"):
        payments.mark_paid(batch, make.user(), opco)


def test_invalid_iban_gives_a_french_message_and_saves_nothing(make):
    admin = make.user()
    provider = make.provider(admin=admin)
    with pytest.raises(InvalidForm) as caught:
        bank_details.request_change(provider, admin, "FR76 3000 6000 0112 3456 7890 188", "", "Organisme")
    assert "n'est pas valide" in caught.value.errors["iban"]
    db.session.rollback()
    db.session.refresh(provider)
    assert provider.pending_iban is None and provider.iban is None


def _link_token(outbox, email) -> str:
    body = [m for m in outbox(email) if "Confirmez les nouvelles coordonnées" in m.subject][-1].body_text
    return re.search(r"/coordonnees-bancaires/confirmer/(\S+)", body).group(1)


def test_bank_change_applies_only_by_the_emailed_link_within_24_hours(make, outbox):
    admin = make.user()
    provider = make.provider(admin=admin)
    bank_details.request_change(provider, admin, "fr76 3000 6000 0112 3456 7890 189", "", "Formations Test")
    db.session.commit()
    assert provider.iban is None and provider.pending_bic == "AGRIFRPPXXX"  # derived from the French IBAN
    token = _link_token(outbox, admin.email)
    assert provider.pending_bank_token_hash == hashlib.sha256(token.encode()).hexdigest()
    with pytest.raises(DomainError, match="plus valable"):
        bank_details.confirm_change(provider, admin, "mauvais-jeton")
    db.session.rollback()
    later = provider.pending_bank_expires_at + timedelta(seconds=1)
    with pytest.raises(DomainError, match="expiré"):
        bank_details.confirm_change(provider, admin, token, now=later)
    db.session.rollback()
    bank_details.confirm_change(provider, admin, token)
    db.session.commit()
    assert provider.iban == IBAN_FR and provider.bank_changed_at is not None
    assert provider.pending_iban is None and provider.pending_bank_token_hash is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "provider.bank_changed"))
    assert event.data["iban"][1] == "FR76 •••• •••• 0189"
    assert IBAN_FR not in str(event.data)
    with pytest.raises(DomainError):
        bank_details.confirm_change(provider, admin, token)  # single use


def test_the_confirmation_link_is_a_secret_masked_in_stored_emails(make, outbox):
    admin = make.user()
    provider = make.provider(admin=admin)
    bank_details.request_change(provider, admin, IBAN_FR, "", "Formations Test")
    db.session.commit()
    token = _link_token(outbox, admin.email)
    body = [m for m in outbox(admin.email) if "Confirmez" in m.subject][-1].body_text
    masked = outbox_service.mask_secret_links(body)
    assert token not in masked
    assert f"/coordonnees-bancaires/confirmer/{outbox_service.MASKED_TOKEN}" in masked
