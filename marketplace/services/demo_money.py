"""Demo money trail (part of `flask seed-demo`), lived through the same services as the pages:

- the organisation's bank details, requested then applied (demo-only confirmation: nobody follows the emailed
  link), and the OPCO's payer account (its payment settings);
- invoices issued for every delivered session (the OPCO's and each company's), and a partial credit note on a
  company invoice;
- the OPCO's invoice of the completed SST session taken into control, validated, put in a payment batch whose
  SEPA file is exported, batch marked paid: the organisation sees « Payée », the envelope moves to paid. Each
  amount traces back to hours done (invoice lines: minutes planned/done × price);
- three small two-day sessions delivered for the other control states: « en contrôle », « compléments
  demandés » (request and deadline) and « rejetée » (reason); a company invoice stays « émise » (awaiting
  payment: the company sees « Payer » and the organisation's IBAN), another one is paid by card (recorded as
  a succeeded PaymentIntent leaves it: the demo calls no Stripe account) with its receipt « acquittée ».
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    CollectiveAction,
    Company,
    Employee,
    Invoice,
    Opco,
    Payer,
    Referencing,
    SessionStatus,
    TrainingProvider,
    TrainingSession,
    User,
)
from marketplace.services import (
    bank_details,
    card_payments,
    delivery,
    employees,
    invoice_control,
    invoicing,
    payment_settings,
    payments,
)
from marketplace.services import sessions as session_service
from marketplace.services.demo import make_siret
from marketplace.services.demo_delivery import SST, at, enrol, live_half_day, published_session
from marketplace.services.employees import EmployeeInput

# French test accounts (valid check digits; schwifty accepts them).
PROVIDER_IBAN, PROVIDER_BIC = "FR7630006000011234567890189", "AGRIFRPPXXX"
OPCO_IBAN, OPCO_BIC = "FR1420041010050500013M02606", "PSSTFRPPXXX"
AKTO_SIREN_PREFIX = "85345678"  # made up (make_siret adds the check digits)


def small_session(
    provider,
    referencing,
    admin,
    company: Company,
    company_admin: User,
    people: list[Employee],
    day: date,
) -> TrainingSession:
    """A two-day session (the SST lasts 14 h), two trainees present throughout, closed the last evening."""
    session = published_session(
        provider, referencing, admin, [day, day + timedelta(days=1)], day - timedelta(days=30)
    )
    enrol(session, company, company_admin, people, day - timedelta(days=20))
    session_service.transition(
        session, "confirm", admin, now=datetime.combine(day - timedelta(days=7), time(10))
    )
    for slot in session.slots:
        live_half_day(session, slot, admin)
    session_service.transition(session, "complete", admin, now=at(session.end_date, "17:30"))
    delivery.close_session(session, admin, now=at(session.end_date, "18:00"))
    return session


NEW_STAFF = [
    ("Lemoine", "Agathe", "Magasinière"),
    ("Carpentier", "Bruno", "Cariste"),
    ("Vidal", "Chloé", "Assistante de direction"),
    ("Roussel", "Damien", "Technicien de maintenance"),
    ("Perrin", "Elsa", "Comptable"),
    ("Guerin", "Fabien", "Chef d'équipe"),
]


def new_staff(company: Company, company_admin: User, n: int) -> list[Employee]:
    """Two employees hired for these sessions (the demo's first employees already fill other sessions)."""
    return hire(company, company_admin, NEW_STAFF[2 * n : 2 * n + 2])


def hire(company: Company, company_admin: User, staff) -> list[Employee]:
    """The company registers these (last name, first name, job title) with a demo address each."""
    return [
        employees.create_employee(
            company,
            EmployeeInput(last, first, f"{first.lower()}.{last.lower()}@{company.slug}.demo.test", job),
            company_admin,
        )
        for last, first, job in staff
    ]


def sst_referencing(provider: TrainingProvider) -> Referencing | None:
    """The organisation's referencing on the SST action (the demo's short two-day sessions)."""
    return db.session.scalar(
        select(Referencing)
        .join(CollectiveAction, CollectiveAction.id == Referencing.action_id)
        .where(CollectiveAction.reference == SST, Referencing.provider_id == provider.id)
    )


def seed_delivered_sessions(
    today: date, providers: list[TrainingProvider], provider_admins: list[User], companies, company_admins
) -> dict[str, int]:
    """Three more delivered sessions to invoice (run before the envelopes, which adopt their enrolments)."""
    provider, admin = providers[0], provider_admins[0]
    referencing = sst_referencing(provider)
    extra = 0
    if referencing is not None:
        company, company_admin = companies[0], company_admins[0]  # enrols without approval
        for n in range(3):
            people = new_staff(company, company_admin, n)
            day = today - timedelta(days=20 + 7 * n)
            small_session(provider, referencing, admin, company, company_admin, people, day)
            extra += 1

    return {"sessions_closed_for_invoices": extra}


def _company_admin_email(company_id: int) -> str | None:
    from marketplace.services.accounts import member_emails
    from marketplace.services.roles import Perm

    emails = sorted(member_emails([company_id], "company", Perm.PAY).get(company_id, []))
    return emails[0] if emails else None


def seed_money(
    today: date,
    opcos: dict[str, Opco],
    opco_admins: dict[str, User],
    providers: list[TrainingProvider],
    provider_admins: list[User],
) -> dict[str, int]:
    """The money trail of the first organisation's delivered sessions (the caller commits)."""
    provider, admin = providers[0], provider_admins[0]
    bank_details.request_change(provider, admin, PROVIDER_IBAN, PROVIDER_BIC, provider.name)
    bank_details.apply_pending_for_demo(provider, admin)
    # The OPCO as payer (the account its transfers debit) and as buyer on the invoices (SIRET, address, VAT),
    # set before the invoices freeze the parties.
    akto = opcos["akto"]
    siret = make_siret(AKTO_SIREN_PREFIX, "0018")
    payment_settings.update(
        akto,
        opco_admins["akto"],
        akto.control_sampling_pct,
        OPCO_IBAN,
        OPCO_BIC,
        f"{akto.name} – fonds mutualisés",
        billing={
            "siret": siret,
            "address": "14 rue Riquet",
            "postal_code": "75019",
            "city": "Paris",
            "vat": f"FR{(12 + 3 * (int(siret[:9]) % 97)) % 97:02d}{siret[:9]}",
        },
    )

    delivered = db.session.scalars(
        select(TrainingSession)
        .where(TrainingSession.provider_id == provider.id, TrainingSession.status == SessionStatus.DELIVERED)
        .order_by(TrainingSession.start_date, TrainingSession.id)
    ).all()
    issued, credit_notes = 0, 0
    opco_invoices: list[Invoice] = []
    company_invoices: list[Invoice] = []
    for session in delivered:
        for invoice in invoicing.draft_for_session(session, admin):
            invoicing.issue(invoice, admin, today=today)
            issued += 1
            (opco_invoices if invoice.payer == Payer.OPCO else company_invoices).append(invoice)
    db.session.flush()

    credited = next((i for i in company_invoices if i.total_ht_cents > 1000), None)
    if credited is not None:
        invoicing.credit(
            credited, admin, "Geste commercial : support de cours non remis", amount_cents=1000, today=today
        )
        credit_notes += 1

    # One company invoice paid by card, the others awaiting payment.
    payable = [i for i in company_invoices if i is not credited]
    if len(payable) >= 2:
        company_admin = db.session.scalar(
            select(User).where(User.email == _company_admin_email(payable[0].company_id))
        )
        card_payments.record_for_demo(payable[0], company_admin)

    paid_batches = 0
    if opco_invoices:
        opco = db.session.get(Opco, opco_invoices[0].opco_id)
        controller = opco_admins[opco.code]
        # The oldest session, all the way: control → validated → batch → SEPA file → paid.
        first, *others = [i for i in opco_invoices if i.opco_id == opco.id]
        invoice_control.start_control(first, controller, opco)
        invoice_control.validate(first, controller, opco)
        batch = payments.create_batch(opco, controller, [first.id], today)
        payments.export_file(batch, controller, opco)
        payments.mark_paid(batch, controller, opco, paid_on=today)
        paid_batches += 1
        steps = [
            lambda i: invoice_control.reject(
                i,
                controller,
                opco,
                "Le tarif horaire facturé dépasse le prix négocié au référencement : émettez un avoir et "
                "refacturez au prix convenu.",
            ),
            lambda i: invoice_control.request_info(
                i,
                controller,
                opco,
                "Merci de joindre le programme remis aux stagiaires et le support de cours de l'après-midi, "
                "mentionnés dans votre proposition.",
                today + timedelta(days=15),
            ),
            lambda i: invoice_control.start_control(i, controller, opco),
        ]
        for invoice, step in zip(others, steps, strict=False):
            step(invoice)
    return {"invoices_issued": issued, "credit_notes": credit_notes, "payment_batches_paid": paid_batches}
