"""The OPCO's payment batches: validated invoices paid together by one SEPA credit transfer (pain.001).

Building a batch locks each chosen invoice's row, checks it is the OPCO's, validated and in no batch, and that
its organisation has a confirmed IBAN (a pending change does not count); the pain.001.001.03 file is written
with ``sepaxml`` — which validates it against the ISO 20022 schema — and stored once with its SHA-256. One
transaction per invoice: its end-to-end id and remittance information are the invoice's number, so the
organisation's bank statement names each invoice it is paid for (a grouped line would have to cut the
numbers at the 140 characters SEPA allows). The amount paid is the validated one (partial validation).
Downloading the file marks the batch « virement émis »; « Marquer le lot payé » marks each invoice paid
through the invoice machine and tells each organisation.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date

from sepaxml import SepaTransfer
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    Invoice,
    InvoiceStatus,
    Opco,
    Payer,
    PaymentBatch,
    PaymentBatchStatus,
    TrainingProvider,
    User,
)
from marketplace.services import audit, budgets, outbox, storage
from marketplace.services.accounts import member_emails
from marketplace.services.errors import DomainError, NotFound
from marketplace.services.invoice_states import transition
from marketplace.services.locking import LOCK_TIMEOUT_MS, LockBusy, is_lock_timeout, is_postgresql, lock_row
from marketplace.services.roles import Perm

BATCH_MAX = 10_000
EXECUTION_MAX_DAYS = 60


class _Transfer(SepaTransfer):
    """sepaxml's transfer with our batch reference as the message id (it draws a random one otherwise)."""

    def __init__(self, config: dict, msg_id: str):
        self._wanted_msg_id = msg_id
        super().__init__(config, schema="pain.001.001.03")

    def _create_header(self):
        self.msg_id = self._wanted_msg_id
        super()._create_header()


def lock_rows(table, ids: list[int]) -> None:
    """``locking.lock_row`` for many rows in one statement (a batch may hold thousands of invoices), in id
    order so two batches never wait on each other crosswise."""
    if not ids:
        return
    if is_postgresql():
        db.session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
        try:
            db.session.execute(
                select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
            ).all()
        except OperationalError as error:
            if is_lock_timeout(error):
                raise LockBusy() from error
            raise
        return
    db.session.execute(update(table).where(table.c.id.in_(ids)).values(id=table.c.id))


def _reference(opco: Opco, today: date) -> str:
    count = db.session.scalar(select(func.count(PaymentBatch.id)).where(PaymentBatch.opco_id == opco.id)) or 0
    return f"LOT-{opco.code.upper()[:10]}-{today:%Y%m%d}-{count + 1:05d}"


def create_batch(
    opco: Opco, actor: User, invoice_ids: list[int] | None, execution_date: date | None
) -> PaymentBatch:
    """A batch of the chosen validated invoices, with its SEPA file stored once (sha256)."""
    if not invoice_ids:
        raise DomainError("Cochez au moins une facture validée à payer.")
    if len(invoice_ids) > BATCH_MAX:
        raise DomainError(f"Un lot compte au plus {BATCH_MAX} factures.")
    today = paris_today()
    execution_date = execution_date or today
    if execution_date < today or (execution_date - today).days > EXECUTION_MAX_DAYS:
        raise DomainError(
            f"La date d'exécution va d'aujourd'hui à {EXECUTION_MAX_DAYS} jours.", field="execution_date"
        )
    if not opco.payer_iban or not opco.payer_bic:
        raise DomainError(
            "Renseignez d'abord le compte de l'OPCO à débiter (IBAN et BIC) dans les paramètres."
        )
    wanted = sorted(set(invoice_ids))
    lock_rows(Invoice.__table__, wanted)
    invoices = db.session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(wanted), Invoice.opco_id == opco.id, Invoice.payer == Payer.OPCO)
        .order_by(Invoice.provider_id, Invoice.id)
        .execution_options(populate_existing=True)
    ).all()
    if len(invoices) != len(wanted):
        raise NotFound("Une des factures choisies n'existe pas.")
    for invoice in invoices:
        if invoice.status != InvoiceStatus.VALIDATED or invoice.payment_batch_id is not None:
            raise DomainError(
                f"La facture {invoice.number} n'est pas à payer (elle doit être validée et hors lot)."
            )
    providers = {
        p.id: p
        for p in db.session.scalars(
            select(TrainingProvider).where(TrainingProvider.id.in_({i.provider_id for i in invoices}))
        )
    }
    missing = sorted(p.name for p in providers.values() if not p.iban or not p.bic)
    if missing:
        raise DomainError(
            "Ces organismes n'ont pas de coordonnées bancaires confirmées : "
            + ", ".join(missing)
            + ". Retirez leurs factures du lot ou attendez qu'ils les confirment."
        )
    batch = PaymentBatch(
        opco_id=opco.id,
        status=PaymentBatchStatus.DRAFT,
        reference=_reference(opco, today),
        execution_date=execution_date,
        invoice_count=len(invoices),
        total_cents=sum(i.validated_cents or 0 for i in invoices),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(batch)
    db.session.flush()
    xml = sepa_file(opco, batch, invoices, providers)
    key = storage.storage().save(xml, ".xml")
    storage.discard_if_rolled_back(key)
    batch.sepa_storage_key = key
    batch.sepa_sha256 = hashlib.sha256(xml).hexdigest()
    ids = [i.id for i in invoices]
    db.session.execute(
        Invoice.__table__.update().where(Invoice.__table__.c.id.in_(ids)).values(payment_batch_id=batch.id)
    )
    for invoice in invoices:  # written above in one statement: only tell the loaded objects
        set_committed_value(invoice, "payment_batch_id", batch.id)
    audit.record(
        "opco.payment_batch_created",
        organisation_id=opco.id,
        actor=actor,
        obj=batch,
        data={"reference": batch.reference, "count": batch.invoice_count, "total_cents": batch.total_cents},
    )
    return batch


def sepa_file(opco: Opco, batch: PaymentBatch, invoices, providers) -> bytes:
    """pain.001.001.03, validated against its schema by sepaxml (an invalid file is never stored)."""
    transfer = _Transfer(
        {
            "name": opco.payer_account_holder or opco.name,
            "IBAN": opco.payer_iban,
            "BIC": opco.payer_bic,
            "batch": True,
            "currency": "EUR",
        },
        batch.reference,
    )
    for invoice in invoices:
        provider = providers[invoice.provider_id]
        transfer.add_payment(
            {
                "name": provider.account_holder or provider.name,
                "IBAN": provider.iban,
                "BIC": provider.bic,
                "amount": invoice.validated_cents,
                "execution_date": batch.execution_date,
                "description": f"Facture {invoice.number} {opco.name}",
                "endtoend_id": (invoice.number or str(invoice.id))[:35],
            }
        )
    return transfer.export(validate=True)


def _locked_batch(batch: PaymentBatch, opco_id: int) -> PaymentBatch:
    if batch.opco_id != opco_id:
        raise NotFound("Ce lot n'existe pas.")
    lock_row(PaymentBatch.__table__, batch.id)
    db.session.refresh(batch)
    return batch


def sepa_bytes(batch: PaymentBatch) -> bytes:
    """The stored file, checked against its hash (an altered file is refused, never served)."""
    missing = DomainError("Le fichier de virement de ce lot est introuvable : recréez le lot.")
    if not batch.sepa_storage_key:
        raise missing
    try:
        data = storage.storage().read(batch.sepa_storage_key)
    except OSError:
        raise missing from None
    if hashlib.sha256(data).hexdigest() != batch.sepa_sha256:
        raise DomainError("Le fichier de virement stocké a été altéré : il n'est pas servi.")
    return data


def export_file(batch: PaymentBatch, actor: User, opco: Opco) -> tuple[str, bytes]:
    """The batch's SEPA file for the bank; the first download marks the transfer ordered (« virement émis »)."""
    batch = _locked_batch(batch, opco.id)
    data = sepa_bytes(batch)
    if batch.status == PaymentBatchStatus.DRAFT:
        batch.status = PaymentBatchStatus.EXPORTED
        audit.record(
            "opco.payment_batch_exported",
            organisation_id=opco.id,
            actor=actor,
            obj=batch,
            data={"reference": batch.reference, "sha256": batch.sepa_sha256},
        )
    return f"virement-{batch.reference}.xml", data


def mark_paid(batch: PaymentBatch, actor: User, opco: Opco, paid_on: date | None = None) -> PaymentBatch:
    """The bank executed the transfer: each invoice « pay » (paid_on, payment_reference), each organisation
    told once with the list of its invoices paid."""
    batch = _locked_batch(batch, opco.id)
    if batch.status == PaymentBatchStatus.PAID:
        raise DomainError("Ce lot est déjà marqué payé.")
    paid_on = paid_on or paris_today()
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.payment_batch_id == batch.id).order_by(Invoice.provider_id, Invoice.id)
    ).all()
    lock_rows(Invoice.__table__, [i.id for i in invoices])
    by_provider: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        transition(invoice, "pay", actor, actor_org_id=opco.id, data={"batch": batch.reference})
        invoice.paid_on = paid_on
        invoice.payment_reference = batch.reference
        budgets.record_payment(invoice)  # the OPCO's envelopes: realised → paid
        by_provider[invoice.provider_id].append(invoice)
    batch.status = PaymentBatchStatus.PAID
    batch.paid_on = paid_on
    audit.record(
        "opco.payment_batch_paid",
        organisation_id=opco.id,
        actor=actor,
        obj=batch,
        data={"reference": batch.reference, "count": len(invoices), "total_cents": batch.total_cents},
    )
    contacts = member_emails(list(by_provider), "provider", Perm.INVOICE)
    for provider_id, paid in by_provider.items():
        for email in contacts.get(provider_id, []):
            outbox.queue_email(
                email,
                "invoices_paid",
                organisation_id=provider_id,
                invoices=paid,
                batch=batch,
                opco=opco,
                total=sum(i.validated_cents or 0 for i in paid),
            )
    return batch
