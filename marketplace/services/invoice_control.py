"""The OPCO's control of its invoices before payment (R6332-26): take into control, draw a sample for manual
control, ask the organisation for missing documents with a deadline, validate (possibly for less, with a
reason) or reject with a reason; the organisation answers a request.

Every change locks the invoice's row (services.locking) and goes through the invoice machine
(services.invoice_states.transition), which also refuses control events on a company's invoice.

Sampling: when an invoice is taken into control it is drawn for manual control with the OPCO's
``control_sampling_pct``. The draw is deterministic, so it can be tested and explained afterwards: the
SHA-256 of « <opco id>:<invoice id> » read as a number, modulo 100, is the invoice's ticket; the invoice is
sampled when its ticket is below the rate (0 % → none, 100 % → all, 10 % → about one in ten). The OPCO cannot
re-draw an invoice (it is drawn once, at ``start_control``); a sampled invoice is never validated in bulk.
"""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import money_fr, paris_today
from marketplace.models import Invoice, InvoiceStatus, Opco, Payer, TrainingProvider, User
from marketplace.services import audit, invoice_checks, outbox
from marketplace.services.accounts import member_emails
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.invoice_states import transition
from marketplace.services.locking import lock_row
from marketplace.services.roles import Perm
from marketplace.services.text import has_control

S = InvoiceStatus
CONTROLLED = (S.ISSUED, S.IN_CONTROL, S.INFO_REQUESTED)
TEXT_MIN = 5
REQUEST_MAX = 2000
REASON_MAX = 500
DEADLINE_MAX_DAYS = 90
BULK_MAX = 500


def sample_ticket(opco_id: int, invoice_id: int) -> int:
    """0…99, fixed for an invoice of an OPCO (see the module's docstring)."""
    digest = hashlib.sha256(f"{opco_id}:{invoice_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def is_drawn(opco: Opco, invoice: Invoice) -> bool:
    return sample_ticket(opco.id, invoice.id) < max(0, min(100, opco.control_sampling_pct))


def _locked(invoice: Invoice, opco_id: int) -> Invoice:
    """The OPCO's invoice, its row locked and re-read for this transaction."""
    if invoice.opco_id != opco_id or invoice.payer != Payer.OPCO:
        raise NotFound("Cette facture n'existe pas.")
    lock_row(Invoice.__table__, invoice.id)
    db.session.refresh(invoice)
    return invoice


def _text(raw: str | None, field: str, what: str, maximum: int) -> str:
    text = " ".join((raw or "").split())
    if len(text) < TEXT_MIN:
        raise DomainError(f"Indiquez {what} ({TEXT_MIN} caractères au moins).", field=field)
    if len(text) > maximum:
        raise DomainError(f"Ce texte ne doit pas dépasser {maximum} caractères.", field=field)
    if has_control(text):
        raise DomainError("Ce texte contient des caractères non autorisés.", field=field)
    return text


def _provider_contacts(provider_id: int) -> list[str]:
    """Who invoices at the organisation (its accountants and administrators)."""
    return member_emails([provider_id], "provider", Perm.INVOICE).get(provider_id, [])


def _notify(invoice: Invoice, template: str, **context) -> None:
    opco = db.session.get(Opco, invoice.opco_id)
    slug = db.session.get(TrainingProvider, invoice.provider_id).slug
    for email in _provider_contacts(invoice.provider_id):
        outbox.queue_email(
            email,
            template,
            organisation_id=invoice.provider_id,
            invoice=invoice,
            opco=opco,
            provider_slug=slug,
            **context,
        )


def _start(invoice: Invoice, opco: Opco, actor: User | None) -> None:
    invoice.sampled = is_drawn(opco, invoice)
    transition(invoice, "start_control", actor, actor_org_id=opco.id, data={"sampled": invoice.sampled})


def start_control(invoice: Invoice, actor: User, opco: Opco) -> Invoice:
    """Take one issued invoice into control (and draw it, or not, for manual control)."""
    invoice = _locked(invoice, opco.id)
    if invoice.status != S.ISSUED:
        raise DomainError("Cette facture est déjà en contrôle ou traitée.")
    _start(invoice, opco, actor)
    return invoice


def take_issued(opco: Opco, actor: User | None, limit: int = BULK_MAX) -> int:
    """Take into control the OPCO's issued invoices (done when the control queue is opened)."""
    ids = db.session.scalars(
        select(Invoice.id)
        .where(Invoice.opco_id == opco.id, Invoice.payer == Payer.OPCO, Invoice.status == S.ISSUED)
        .order_by(Invoice.id)
        .limit(limit)
    ).all()
    taken = 0
    for invoice_id in ids:
        lock_row(Invoice.__table__, invoice_id)
        invoice = db.session.get(Invoice, invoice_id, populate_existing=True)
        if invoice is not None and invoice.status == S.ISSUED:
            _start(invoice, opco, actor)
            taken += 1
    return taken


def request_info(
    invoice: Invoice, actor: User, opco: Opco, raw_request: str | None, deadline: date | None
) -> Invoice:
    """Ask the organisation for missing documents by ``deadline``; the invoice waits for its answer."""
    invoice = _locked(invoice, opco.id)
    text = _text(raw_request, "info_request", "les pièces ou informations demandées", REQUEST_MAX)
    today = paris_today()
    if deadline is None or deadline <= today:
        raise DomainError(
            "Indiquez une date limite de réponse postérieure à aujourd'hui.", field="info_deadline"
        )
    if (deadline - today).days > DEADLINE_MAX_DAYS:
        raise DomainError(
            f"La date limite ne peut pas dépasser {DEADLINE_MAX_DAYS} jours.", field="info_deadline"
        )
    if invoice.status == S.ISSUED:
        _start(invoice, opco, actor)
    transition(
        invoice,
        "request_info",
        actor,
        actor_org_id=opco.id,
        reason=text,
        data={"deadline": deadline.isoformat()},
    )
    invoice.info_request = text
    invoice.info_deadline = deadline
    _notify(invoice, "invoice_info_requested", request=text, deadline=deadline)
    return invoice


def answer(invoice: Invoice, actor: User, message: str | None, provider_id: int) -> Invoice:
    """The organisation answers the OPCO's request: the invoice goes back into control, the OPCO's
    controllers are told. Documents themselves are added where they belong (attendance proofs, certificates)."""
    if invoice.provider_id != provider_id:
        raise NotFound("Cette facture n'existe pas.")
    lock_row(Invoice.__table__, invoice.id)
    db.session.refresh(invoice)
    if invoice.status != S.INFO_REQUESTED:
        raise DomainError("L'OPCO n'attend pas de complément sur cette facture.")
    text = _text(message, "message", "votre réponse à l'OPCO", REQUEST_MAX)
    transition(invoice, "answer_info", actor, reason=text)
    invoice.info_request = f"{invoice.info_request}\n\nRéponse de l'organisme : {text}"[:REQUEST_MAX]
    for email in member_emails([invoice.opco_id], "opco", Perm.CONTROL_DELIVERY).get(invoice.opco_id, []):
        outbox.queue_email(
            email,
            "invoice_info_answered",
            organisation_id=invoice.opco_id,
            invoice=invoice,
            answer=text,
            opco_slug=db.session.get(Opco, invoice.opco_id).slug,
        )
    return invoice


def parse_amount(raw: str | None) -> int | None:
    """« 1 234,56 » (or with a dot, spaces, €) to cents; None when blank; DomainError when malformed."""
    text = (raw or "").replace("€", "").replace("\u202f", "").replace("\u00a0", "").replace(" ", "").strip()
    if not text:
        return None
    text = text.replace(",", ".")
    whole, _, decimals = text.partition(".")
    if not whole.isdigit() or len(whole) > 9 or (decimals and (not decimals.isdigit() or len(decimals) > 2)):
        raise DomainError("Indiquez un montant en euros, par exemple 1 234,56.", field="validated_amount")
    return int(whole) * 100 + int((decimals or "0").ljust(2, "0"))


def validate(
    invoice: Invoice, actor: User, opco: Opco, amount_cents: int | None = None, reason: str | None = None
) -> Invoice:
    """Good for payment, for its whole amount TTC or for less (partial validation, reason required)."""
    invoice = _locked(invoice, opco.id)
    if invoice.status == S.ISSUED:
        _start(invoice, opco, actor)
    amount = invoice.total_ttc_cents if amount_cents is None else amount_cents
    if amount <= 0:
        raise DomainError(
            "Le montant validé doit être positif ; pour ne rien payer, rejetez la facture.",
            field="validated_amount",
        )
    if amount > invoice.total_ttc_cents:
        raise DomainError(
            f"Le montant validé ne peut pas dépasser le total de la facture ({money_fr(invoice.total_ttc_cents)} TTC).",
            field="validated_amount",
        )
    clean_reason = None
    if amount < invoice.total_ttc_cents:
        clean_reason = _text(reason, "adjustment_reason", "le motif de l'ajustement", REASON_MAX)
    transition(
        invoice,
        "validate",
        actor,
        actor_org_id=opco.id,
        reason=clean_reason,
        data={"validated_cents": amount},
    )
    invoice.validated_cents = amount
    invoice.adjustment_reason = clean_reason
    _notify(invoice, "invoice_validated")
    return invoice


def reject(invoice: Invoice, actor: User, opco: Opco, reason: str | None) -> Invoice:
    """Refuse the invoice with a reason, sent to the organisation (which corrects by a credit note)."""
    invoice = _locked(invoice, opco.id)
    text = _text(reason, "rejection_reason", "le motif du rejet", REASON_MAX)
    if invoice.status == S.ISSUED:
        _start(invoice, opco, actor)
    transition(invoice, "reject", actor, actor_org_id=opco.id, reason=text)
    invoice.rejection_reason = text
    _notify(invoice, "invoice_rejected", reason=text)
    return invoice


def validate_checked(invoice_ids: list[int] | None, actor: User, opco: Opco) -> int:
    """Bulk validation: each chosen invoice not drawn for manual control whose automatic checks all pass is
    validated for its whole amount; any other choice refuses the whole operation (nothing validated)."""
    if not invoice_ids:
        raise DomainError("Cochez au moins une facture à valider.")
    if len(invoice_ids) > BULK_MAX:
        raise DomainError(f"Validez au plus {BULK_MAX} factures à la fois.")
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(invoice_ids), Invoice.opco_id == opco.id, Invoice.payer == Payer.OPCO)
        .order_by(Invoice.id)
    ).all()
    if len(invoices) != len(set(invoice_ids)):
        raise NotFound("Une des factures choisies n'existe pas.")
    for invoice in invoices:
        _locked(invoice, opco.id)
    reports = invoice_checks.checks_for(list(invoices))
    for invoice in invoices:
        if invoice.status not in (S.ISSUED, S.IN_CONTROL):
            raise DomainError(f"La facture {invoice.number} n'est pas à valider ({invoice.status_label}).")
        if invoice.sampled:
            raise DomainError(f"La facture {invoice.number} est tirée au sort : contrôlez-la une à une.")
        if not reports[invoice.id].ok:
            raise DomainError(
                f"La facture {invoice.number} a des contrôles automatiques en échec : contrôlez-la une à une."
            )
    for invoice in invoices:
        if invoice.status == S.ISSUED:
            _start(invoice, opco, actor)
            if invoice.sampled:
                raise DomainError(f"La facture {invoice.number} est tirée au sort : contrôlez-la une à une.")
        transition(
            invoice,
            "validate",
            actor,
            actor_org_id=opco.id,
            data={"validated_cents": invoice.total_ttc_cents},
        )
        invoice.validated_cents = invoice.total_ttc_cents
        _notify(invoice, "invoice_validated")
    audit.record(
        "opco.invoices_validated",
        organisation_id=opco.id,
        actor=actor,
        data={"count": len(invoices), "invoices": [i.number for i in invoices]},
    )
    return len(invoices)
