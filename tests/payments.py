"""Company invoices ready to be paid, for the card payment tests: a delivered session of one organisation, its
company invoice (the reste à charge) issued through the services, the organisation's Stripe account
connected to localstripe through its settings service (the key checked there), its webhook endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Invoice, Payer, StripeAccount
from marketplace.services import invoicing, stripe_settings
from tests import localstripe
from tests.delivered import delivered_session


@dataclass
class Billed:
    provider: object
    provider_admin: object
    company: object
    payer: object  # the company member who pays
    invoice: Invoice
    account: StripeAccount | None


def billed(
    make, *, connect: bool = True, keys=None, name: str = "Formations du Rhône", shares=None
) -> Billed:
    admin = make.user()
    provider = make.provider(admin=admin, name=name)
    payer = make.user()
    company = make.company(admin=payer)
    action = make.action(make.opco("akto"), shares=shares or {"<11": 50, "11-49": 50, "50-249": 50})
    session, _ = delivered_session(make, [(company, None, "attended", 840)], action=action, provider=provider)
    drafts = invoicing.draft_for_session(session, admin)
    invoice = next(i for i in drafts if i.payer == Payer.COMPANY)
    invoicing.issue(invoice, admin)
    db.session.commit()
    account = None
    if connect:
        publishable, secret, webhook = keys or (
            localstripe.PUBLISHABLE_KEY,
            localstripe.SECRET_KEY,
            localstripe.WEBHOOK_SECRET,
        )
        account = stripe_settings.connect(provider, admin, publishable, secret, webhook)
        db.session.commit()
    return Billed(provider, admin, company, payer, invoice, account)


def reload(invoice: Invoice) -> Invoice:
    db.session.expire_all()
    return db.session.scalar(select(Invoice).where(Invoice.id == invoice.id))
