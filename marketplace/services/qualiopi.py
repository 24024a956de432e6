"""A training organisation renews its Qualiopi certificate: checked as at sign-up, stored with its PDF, and
the referencings suspended automatically for the lapsed certificate are reactivated (their OPCO told)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Opco, Referencing, ReferencingStatus, TrainingProvider, User
from marketplace.services import (
    accounts,
    audit,
    identifiers,
    outbox,
    referencing_registry,
    referencings,
    storage,
)
from marketplace.services.errors import DomainError
from marketplace.services.roles import Perm


@dataclass
class QualiopiInput:
    """The renewed certificate as typed, and its PDF (original name, content)."""

    certifier: str
    number: str
    categories: list[str]
    issued_on: date | None
    expires_on: date | None
    filename: str = ""
    content: bytes = b""


def renew_qualiopi(
    provider: TrainingProvider, data: QualiopiInput, actor: User, today: date
) -> list[Referencing]:
    """Record the organisation's renewed Qualiopi certificate (audited) and lift the suspensions its lapse caused.

    Same rules as at sign-up (certifier, number, categories, issued on or before today, valid at most 3 years)
    and the certificate must be valid today; its PDF is required. When the new certificate covers « actions de
    formation », every referencing suspended automatically for the lapsed certificate is reactivated and its
    OPCO told; a referencing an OPCO suspended by hand stays suspended. Returns the reactivated referencings.
    """
    if data.expires_on is not None and data.expires_on < today:
        raise DomainError(
            "Ce certificat Qualiopi a déjà expiré : saisissez le certificat renouvelé, en cours de validité.",
            field="qualiopi_expires_on",
        )
    categories = identifiers.validate_qualiopi(
        data.certifier, data.number, data.categories, data.issued_on, data.expires_on, today
    )
    if not data.content:
        raise DomainError("Joignez le certificat Qualiopi au format PDF.", field="file")
    if not storage.safe_filename(data.filename).lower().endswith(".pdf"):
        raise DomainError("Le certificat doit être un fichier PDF.", field="file")
    stored = storage.store(data.filename, data.content)  # checked (PDF content, size) before it is written
    before = {
        "certifier": provider.qualiopi_certifier,
        "number": provider.qualiopi_number,
        "categories": provider.qualiopi_categories,
        "issued_on": provider.qualiopi_issued_on.isoformat(),
        "expires_on": provider.qualiopi_expires_on.isoformat(),
    }
    provider.qualiopi_certifier = " ".join(data.certifier.split())
    provider.qualiopi_number = " ".join(data.number.split())
    provider.qualiopi_categories = " ".join(categories)
    provider.qualiopi_issued_on = data.issued_on
    provider.qualiopi_expires_on = data.expires_on
    provider.qualiopi_document_key = stored.key
    provider.qualiopi_document_name = stored.filename
    after = {
        "certifier": provider.qualiopi_certifier,
        "number": provider.qualiopi_number,
        "categories": provider.qualiopi_categories,
        "issued_on": data.issued_on.isoformat(),
        "expires_on": data.expires_on.isoformat(),
    }
    audit.record(
        "provider.qualiopi_renewed",
        organisation_id=provider.id,
        actor=actor,
        obj=provider,
        data={"before": before, "after": after, "document": stored.filename},
    )
    if referencing_registry.qualiopi_suspension_reason(provider, today) is not None:
        return []  # e.g. the new certificate does not cover « actions de formation »
    lifted = list(
        db.session.scalars(
            select(Referencing)
            .where(
                Referencing.provider_id == provider.id,
                Referencing.status == ReferencingStatus.SUSPENDED,
                Referencing.suspended_for_qualiopi.is_(True),
            )
            .order_by(Referencing.opco_id, Referencing.id)
        )
    )
    by_opco: dict[int, list[Referencing]] = {}
    for referencing in lifted:
        referencings.transition_referencing(referencing, "reactivate", actor)
        by_opco.setdefault(referencing.opco_id, []).append(referencing)
    contacts = accounts.member_emails(list(by_opco), "opco", Perm.MANAGE_CATALOGUE)
    for opco_id, reactivated in by_opco.items():
        for email in contacts.get(opco_id, []):
            outbox.queue_email(
                email,
                "referencing_reactivated_qualiopi",
                organisation_id=opco_id,
                provider=provider,
                referencings=reactivated,
                opco=db.session.get(Opco, opco_id),
            )
    return lifted


def qualiopi_document(provider: TrainingProvider) -> tuple[str, bytes] | None:
    """The organisation's certificate PDF (name, content), or None when none was given."""
    if not provider.qualiopi_document_key:
        return None
    return provider.qualiopi_document_name or "certificat-qualiopi.pdf", storage.storage().read(
        provider.qualiopi_document_key
    )
