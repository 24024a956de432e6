"""OPCO invoices for the control and payment tests, built directly with the models (as issuing leaves them):
a delivered session whose half-days are all attested, a certificate per trainee, and an issued invoice with
one line per trainee charging the minutes done at the frozen funded share."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    DocumentKind,
    HalfDayAttestation,
    Invoice,
    InvoiceLine,
    utcnow,
)
from marketplace.services import documents
from tests.delivered import delivered_session

_numbers = itertools.count(1)
CERTIFICATE = b"%PDF-1.4\n% certificat de realisation (test)\n"
IBAN_FR = "FR7630006000011234567890189"  # BIC derived: AGRIFRPPXXX
IBAN_OPCO = "FR7630004000030001234567897"


def attest_all(session) -> None:
    for slot in session.slots:
        db.session.add(
            HalfDayAttestation(
                provider_id=session.provider_id,
                session_id=session.id,
                slot_id=slot.id,
                opened_at=utcnow(),
                attested_at=utcnow(),
                trainer_name="Formateur Test",
                method="platform",
            )
        )


def certify(enrolment) -> None:
    documents.issue(
        DocumentKind.CERTIFICATE,
        CERTIFICATE,
        filename=f"certificat-{enrolment.id}.pdf",
        session_id=enrolment.session_id,
        provider_id=enrolment.provider_id,
        opco_id=enrolment.opco_id,
        enrolment_id=enrolment.id,
        company_id=enrolment.company_id,
    )


def issued_invoice(
    session,
    enrolments,
    *,
    status: str = "issued",
    number: str | None = None,
    payer: str = "opco",
    company_id: int | None = None,
    line_changes: dict[int, dict] | None = None,
) -> Invoice:
    """The OPCO invoice of ``session``: a line per enrolment, minutes done × funded share (per trainee).
    ``line_changes`` ({index: {column: value}}) writes wrong figures before the invoice is stored: an issued
    invoice is never edited afterwards (services.invoicing refuses it)."""
    n = next(_numbers)
    lines = []
    for position, enrolment in enumerate(enrolments, start=1):
        lines.append(
            InvoiceLine(
                position=position,
                kind="training",
                enrolment_id=enrolment.id,
                label=f"Stagiaire {enrolment.employee.last_name} {enrolment.employee.first_name}",
                quantity=Decimal(1),
                unit="stagiaire",
                unit_price_cents=session.referencing.price_cents,
                amount_ht_cents=enrolment.funded_cents,
                minutes_planned=enrolment.planned_minutes,
                minutes_done=enrolment.attended_minutes,
            )
        )
    for index, changes in (line_changes or {}).items():
        for column, value in changes.items():
            setattr(lines[index], column, value)
    total = sum(line.amount_ht_cents for line in lines)
    invoice = Invoice(
        kind="invoice",
        payer=payer,
        company_id=company_id,
        status=status,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        session_id=session.id,
        number=number or f"F-2026-{n:06d}",
        year=2026,
        sequence=n,
        issued_on=paris_today() - timedelta(days=2),
        due_on=paris_today() + timedelta(days=28),
        total_ht_cents=total,
        vat_cents=0,
        total_ttc_cents=total,
        seller_name=session.provider.name,
        seller_siret=session.provider.siret,
        seller_nda=session.provider.nda,
        buyer_name="OPCO",
        lines=lines,
    )
    db.session.add(invoice)
    db.session.commit()
    return invoice


def controlled_session(make, *, opco_code: str = "akto", provider=None, trainees: int = 2):
    """A delivered session of the OPCO, every half-day attested, a certificate per trainee, the referencing
    valid over its dates. Returns ``(session, enrolments)``."""
    company = make.company(opco_code)
    rows = [(company, make.employee(company), "attended", None) for _ in range(trainees)]
    action = make.action(make.opco(opco_code))
    session, enrolments = delivered_session(make, rows, action=action, provider=provider)
    for enrolment in enrolments:
        enrolment.attended_minutes = enrolment.planned_minutes
    session.referencing.valid_from = session.start_date - timedelta(days=30)
    attest_all(session)
    for enrolment in enrolments:
        certify(enrolment)
    db.session.commit()
    return session, enrolments


def opco_invoice(
    make, *, opco_code: str = "akto", provider=None, trainees: int = 2, status: str = "issued", **invoice
):
    session, enrolments = controlled_session(make, opco_code=opco_code, provider=provider, trainees=trainees)
    return issued_invoice(session, enrolments, status=status, **invoice)


def with_bank(provider, iban: str = IBAN_FR, bic: str = "AGRIFRPPXXX") -> None:
    provider.iban, provider.bic, provider.account_holder = iban, bic, provider.name[:70]
    db.session.commit()


def with_payer_account(opco) -> None:
    opco.payer_iban, opco.payer_bic, opco.payer_account_holder = IBAN_OPCO, "BNPAFRPPXXX", opco.name
    db.session.commit()
