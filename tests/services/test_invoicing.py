"""Invoices from a delivered session: drafts, issuing (numbers, mentions, PDF, Factur-X), credit notes and
the refusals (services.invoicing)."""

import io
import threading
from datetime import date
from decimal import Decimal

import facturx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Invoice, InvoiceSequence, OutboxMessage
from marketplace.services import invoice_states, invoicing, storage
from marketplace.services.errors import DomainError
from marketplace.services.identifiers import SIZE_BANDS
from tests.delivered import delivered_session

TODAY = date(2027, 3, 15)


def _session(make, *, vat_regime="exonere", shares=None, dedit=None, late_cancel=False):
    provider = make.provider(vat_regime=vat_regime)
    action = make.action(make.opco("akto"), shares=shares or {b: 80 for b, *_ in SIZE_BANDS})
    if dedit is not None:
        action.dedit_rate_pct = dedit
        db.session.commit()
    company = make.company()
    other = make.company()
    session, enrolments = delivered_session(
        make,
        [
            (company, None, "attended", 840),
            (company, None, "partially_attended", 420),
            (other, None, "absent", 0),
        ],
        action=action,
        provider=provider,
    )
    for e in enrolments:
        e.dedit_rate_pct = dedit
    db.session.commit()
    return session, enrolments, company, other


def _text(invoice) -> str:
    data = storage.storage().read(invoice.storage_key)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_drafts_one_opco_invoice_and_one_per_company_idempotent(make):
    session, enrolments, company, other = _session(make, dedit=50)
    actor = make.user()
    invoices = invoicing.draft_for_session(session, actor)
    db.session.commit()
    assert [(i.payer, i.company_id, i.status) for i in invoices] == [
        ("opco", None, "draft"),
        ("company", company.id, "draft"),
        ("company", other.id, "draft"),
    ]
    opco, mine, theirs = invoices
    # Price 1 000 € (factory action), OPCO 80 %: 800 + 400 (half the hours) for the OPCO.
    assert opco.total_ht_cents == 120_000
    assert mine.total_ht_cents == 30_000
    # The absent trainee's company owes the dédit: 50 % of 1 000 €, nothing to the OPCO for it.
    assert (theirs.total_ht_cents, [line.kind for line in theirs.lines]) == (50_000, ["dedit"])
    assert [line.enrolment_id for line in opco.lines] == [enrolments[0].id, enrolments[1].id]
    again = invoicing.draft_for_session(session, actor)
    assert [i.id for i in again] == [i.id for i in invoices]
    assert db.session.query(Invoice).count() == 3


def test_drafts_need_a_delivered_session(make):
    session, *_ = _session(make)
    session.status = "completed"
    db.session.commit()
    with pytest.raises(DomainError, match="clôturée"):
        invoicing.draft_for_session(session, None)


def test_issue_numbers_freezes_and_stores_a_facturx_pdf(make):
    session, _enrolments, company, _other = _session(make, dedit=50)
    invoices = invoicing.draft_for_session(session, None)
    db.session.commit()
    opco_invoice = invoicing.issue(invoices[0], None, today=TODAY)
    company_invoice = invoicing.issue(invoices[1], None, today=TODAY)
    db.session.commit()
    assert (opco_invoice.number, company_invoice.number) == ("F-2027-0001", "F-2027-0002")
    assert opco_invoice.status == "issued"
    assert opco_invoice.due_on == date(2027, 4, 14)
    data = storage.storage().read(company_invoice.storage_key)
    assert invoicing.invoice_document.sha256(data) == company_invoice.sha256
    text = _text(company_invoice)
    provider = session.provider
    for mention in (
        "FACTURE N° F-2027-0002",
        provider.name,
        provider.siret,
        provider.nda,
        company.name,
        company.siret,
        "15/03/2027",  # date
        "14/04/2027",  # due date
        "Prix unitaire HT",
        "Total HT",
        "Total TTC",
        "TVA",
        "Exonération de TVA – article 261-4-4° a du CGI",
        "trois fois le taux d'intérêt légal",
        "40,00 €",
        session.action.reference,
        f"session n° {session.id}",
        "14,00 h",  # trainee hours
        "N° TVA intracommunautaire",
    ):
        assert mention in text.replace("\u202f", " ").replace("\xa0", " "), mention
    xml_name, xml = facturx.get_xml_from_pdf(data, check_xsd=True)
    assert xml_name == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert b"F-2027-0002" in xml and b"<ram:TypeCode>380</ram:TypeCode>" in xml
    # The payers are told.
    subjects = [m.subject for m in db.session.scalars(select(OutboxMessage))]
    assert any("F-2027-0002" in s for s in subjects)


def test_vat_liable_and_franchise_mentions(make):
    session, *_ = _session(make, vat_regime="franchise")
    invoice = invoicing.issue(invoicing.draft_for_session(session, None)[0], None, today=TODAY)
    db.session.commit()
    assert invoice.vat_mention == "TVA non applicable, art. 293 B du CGI"
    assert "TVA non applicable, art. 293 B du CGI" in _text(invoice)
    liable, enrolments, *_ = _session(make, vat_regime="assujetti")
    for e in enrolments:  # frozen at enrolment: 20 % in mainland France
        assert e.vat_rate == Decimal("0.2")
    invoice = invoicing.issue(invoicing.draft_for_session(liable, None)[0], None, today=TODAY)
    db.session.commit()
    # 800 + 400 HT, VAT 20 % per line: 160 + 80.
    assert (invoice.total_ht_cents, invoice.vat_cents, invoice.total_ttc_cents) == (120_000, 24_000, 144_000)
    assert invoice.vat_mention == ""
    _name, xml = facturx.get_xml_from_pdf(storage.storage().read(invoice.storage_key))
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")


def test_issued_invoice_is_never_edited(make):
    session, *_ = _session(make)
    invoice = invoicing.issue(invoicing.draft_for_session(session, None)[0], None, today=TODAY)
    db.session.commit()
    with pytest.raises(DomainError, match="déjà émise"):
        invoicing.issue(invoice, None)
    db.session.rollback()
    invoice.total_ht_cents += 100
    invoice.total_ttc_cents += 100
    with pytest.raises(DomainError, match="ne se modifie pas"):
        db.session.flush()
    db.session.rollback()
    invoice.lines[0].label = "Autre chose"
    with pytest.raises(DomainError, match="ne se modifie pas"):
        db.session.flush()
    db.session.rollback()
    # Moving through the machine stays allowed.
    invoice_states.transition(invoice, "start_control", None)
    db.session.commit()
    assert invoice.status == "in_control"


def test_credit_notes_partial_then_full_cancels(make):
    session, *_ = _session(make)
    invoice = invoicing.issue(invoicing.draft_for_session(session, None)[0], None, today=TODAY)
    db.session.commit()
    with pytest.raises(DomainError, match="motif"):
        invoicing.credit(invoice, None, "")
    with pytest.raises(DomainError, match="compris entre"):
        invoicing.credit(invoice, None, "Erreur", amount_cents=invoice.total_ht_cents + 1)
    partial = invoicing.credit(invoice, None, "Heures corrigées", amount_cents=10_000, today=TODAY)
    db.session.commit()
    assert (partial.number, partial.kind, partial.credited_invoice_id) == (
        "A-2027-0002",
        "credit_note",
        invoice.id,
    )
    assert invoice.status == "issued"
    text = _text(partial)
    assert "AVOIR N° A-2027-0002" in text and invoice.number in text
    full = invoicing.credit(invoice, None, "Facture annulée", today=TODAY)
    db.session.commit()
    assert full.total_ht_cents == invoice.total_ht_cents - 10_000
    assert invoice.status == "cancelled"
    _name, xml = facturx.get_xml_from_pdf(storage.storage().read(full.storage_key), check_xsd=True)
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml
    with pytest.raises(DomainError, match="non annulée"):
        invoicing.credit(invoice, None, "Encore")


def test_parallel_issues_get_numbers_without_gap(make, app):
    """Every issue waits for the sequence row (PostgreSQL FOR UPDATE; SQLite's single writer): no gap."""
    provider = make.provider()
    ids = []
    for _ in range(4):
        session, *_ = delivered_session(
            make, [(make.company(), None, "attended", 840)], action=make.action(), provider=provider
        )
        ids += [i.id for i in invoicing.draft_for_session(session, None)]
        db.session.commit()
    errors = []
    barrier = threading.Barrier(len(ids))

    def work(invoice_id):
        with app.app_context():
            try:
                barrier.wait()
                invoicing.issue(db.session.get(Invoice, invoice_id), None, today=TODAY)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    numbers = sorted(db.session.scalars(select(Invoice.sequence).where(Invoice.provider_id == provider.id)))
    assert numbers == list(range(1, len(ids) + 1))
    sequence = db.session.get(InvoiceSequence, (provider.id, 2027))
    assert sequence.last_number == len(ids)


def test_group_price_from_the_referencing_and_late_cancellation_dedit(make):
    session, enrolments, company, other = _session(make, dedit=40)
    referencing = session.referencing
    referencing.pricing_mode, referencing.group_price_cents, referencing.group_threshold_pct = (
        "group",
        240_000,
        50,
    )
    # A fourth enrolment, cancelled late by the company: a dédit on its invoice, nothing for the group.
    late = make.enrolment(make.session(session.action, session.provider), company)
    late.session_id, late.status, late.is_late_cancellation, late.dedit_rate_pct = (
        session.id,
        "cancelled",
        True,
        40,
    )
    db.session.commit()
    opco_invoice, mine, theirs = invoicing.draft_for_session(session, None)
    # 840 + 420 + 0 of 3 × 840 minutes done = 50 % ≥ 50 %: the group price in full, 2 400 €; OPCO 80 %.
    assert opco_invoice.total_ht_cents == 192_000
    assert [line.unit for line in opco_invoice.lines] == ["forfait"]
    # The companies share the 480 € left by their remainders (2 trainees vs 1): 320 € and 160 €,
    # plus the dédits (40 % of 1 000 €): the late cancellation for mine, the unjustified absence for theirs.
    assert [(line.kind, line.amount_ht_cents) for line in mine.lines] == [
        ("training", 32_000),
        ("dedit", 40_000),
    ]
    assert [(line.kind, line.amount_ht_cents) for line in theirs.lines] == [
        ("training", 16_000),
        ("dedit", 40_000),
    ]


def test_the_opco_is_told_when_its_invoice_is_issued(make):
    session, *_ = _session(make)
    controller = make.user()
    make.member(session.action.opco, controller, "admin")
    invoicing.issue(invoicing.draft_for_session(session, None)[0], None, today=TODAY)
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == controller.email))
    assert message is not None and "F-2027-0001" in message.subject


def test_the_opco_invoice_names_the_opco_with_its_siret_address_and_vat_number(make):
    from marketplace.services import payment_settings

    session, *_ = _session(make)
    opco = session.action.opco
    payment_settings.update(
        opco,
        make.user(),
        opco.control_sampling_pct,
        None,
        None,
        None,
        billing={
            "siret": "732 829 320 00074",
            "address": "14 rue Riquet",
            "postal_code": "75019",
            "city": "Paris",
            "vat": "FR 12 732829320",
        },
    )
    invoices = invoicing.draft_for_session(session, None)
    invoice = invoicing.issue(invoices[0], None, today=TODAY)
    db.session.commit()
    assert (invoice.buyer_siret, invoice.buyer_vat_number) == ("73282932000074", "FR12732829320")
    assert invoice.buyer_address == "14 rue Riquet, 75019 Paris"
    text = _text(invoice).replace("\u202f", " ").replace("\xa0", " ")
    assert "14 rue Riquet" in text and "FR12732829320" in text


def test_a_wrong_billing_identity_is_refused_whole(make):
    from marketplace.services import payment_settings
    from marketplace.services.errors import InvalidForm

    opco = make.opco("akto")
    with pytest.raises(InvalidForm) as refused:
        payment_settings.update(
            opco,
            make.user(),
            10,
            None,
            None,
            None,
            billing={
                "siret": "123",
                "address": "1 rue X",
                "postal_code": "7501",
                "city": "Paris",
                "vat": "X1",
            },
        )
    assert set(refused.value.errors) == {"siret", "billing_postal_code", "vat_number"}
    db.session.rollback()
    assert (opco.siret, opco.billing_address) == ("", "")
