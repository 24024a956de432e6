"""The invoice's states (machine D of the domain research), declared once; ``transition`` is the one way to
change an invoice's status. OPCO invoices go through control (R6332-26) before payment; a company's invoice is
paid once issued. An issued invoice is never edited: ``cancel`` is only reached by issuing a credit note for
its whole amount (services.invoicing).
"""

from __future__ import annotations

from marketplace.models import Invoice, InvoiceStatus, Payer, User
from marketplace.services import audit
from marketplace.services.errors import DomainError
from marketplace.services.state import machine

I = InvoiceStatus  # noqa: E741

INVOICE = machine(
    "invoice",
    I.LABELS,
    issue=(I.DRAFT, I.ISSUED, "Émettre la facture"),
    start_control=(I.ISSUED, I.IN_CONTROL, "Prendre en contrôle"),
    request_info=(I.IN_CONTROL, I.INFO_REQUESTED, "Demander des compléments"),
    answer_info=(I.INFO_REQUESTED, I.IN_CONTROL, "Transmettre les compléments"),
    validate=(I.IN_CONTROL, I.VALIDATED, "Valider (bon à payer)"),
    reject=((I.IN_CONTROL, I.INFO_REQUESTED), I.REJECTED, "Rejeter la facture"),
    start_payment=(I.ISSUED, I.PAYMENT_PENDING, "Payer par carte"),
    payment_failed=(I.PAYMENT_PENDING, I.ISSUED, "Paiement par carte refusé"),
    pay=((I.ISSUED, I.VALIDATED, I.PAYMENT_PENDING), I.PAID, "Enregistrer le paiement"),
    cancel=(
        (I.ISSUED, I.IN_CONTROL, I.INFO_REQUESTED, I.VALIDATED, I.REJECTED, I.PAID),
        I.CANCELLED,
        "Annuler par avoir",
    ),
)

# Only the OPCO's invoices are controlled; a company pays its invoice as issued (by card through the
# organisation's Stripe account: « Paiement en cours » until Stripe answers, or by transfer marked by hand).
_OPCO_ONLY = {"start_control", "request_info", "answer_info", "validate", "reject"}
_COMPANY_ONLY = {"start_payment", "payment_failed"}


def transition(
    invoice: Invoice,
    event: str,
    actor: User | None,
    *,
    actor_org_id: int | None = None,
    reason: str | None = None,
    data: dict | None = None,
) -> str:
    """Apply ``event`` (caller holds the invoice's lock); audited for the issuer and for the acting
    organisation when it is another one (the OPCO controlling, the company paying)."""
    if event in _OPCO_ONLY and invoice.payer != Payer.OPCO:
        raise DomainError("Seules les factures adressées à l'OPCO passent par son contrôle.")
    if event in _COMPANY_ONLY and invoice.payer != Payer.COMPANY:
        raise DomainError("Seules les factures adressées à l'entreprise se paient par carte.")
    if event == "cancel" and invoice.status == I.PAID and invoice.payer != Payer.COMPANY:
        raise DomainError("Une facture payée par l'OPCO ne s'annule pas par avoir.")
    if event == "pay" and invoice.payer == Payer.OPCO and invoice.status != I.VALIDATED:
        raise DomainError("L'OPCO ne paie une facture qu'une fois validée (bon à payer).")
    previous = INVOICE.apply(
        invoice, event, actor, organisation_id=invoice.provider_id, reason=reason, data=data
    )
    if actor_org_id is not None and actor_org_id != invoice.provider_id:
        audit.record(
            f"invoice.{event}",
            organisation_id=actor_org_id,
            actor=actor,
            obj=invoice,
            data={"from": previous, "to": invoice.status, **({"reason": reason} if reason else {})},
        )
    return previous
