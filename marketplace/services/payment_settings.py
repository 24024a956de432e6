"""The OPCO's control and payment settings: the share of invoices drawn for manual control (R6332-26) and
the account its SEPA credit transfers debit (checked like an organisation's, services.bank_details)."""

from __future__ import annotations

from marketplace.models import Opco, User
from marketplace.services import audit
from marketplace.services.bank_details import check_account, mask
from marketplace.services.errors import Collect, DomainError, InvalidForm
from marketplace.services.identifiers import validate_siret

_FIELDS = {"iban": "payer_iban", "bic": "payer_bic", "account_holder": "payer_account_holder"}


def update(
    opco: Opco,
    actor: User,
    sampling_pct: int | None,
    raw_iban: str | None,
    raw_bic: str | None,
    raw_holder: str | None,
    billing: dict[str, str | None] | None = None,
) -> Opco:
    if sampling_pct is None or not 0 <= sampling_pct <= 100:
        raise DomainError("Indiquez un pourcentage entre 0 et 100.", field="control_sampling_pct")
    changes: dict = {}
    if billing is not None:
        changes.update(_billing_identity(opco, billing))
    if sampling_pct != opco.control_sampling_pct:
        changes["control_sampling_pct"] = [opco.control_sampling_pct, sampling_pct]
        opco.control_sampling_pct = sampling_pct
    if (raw_iban or "").strip() or (raw_bic or "").strip():
        try:
            account = check_account(raw_iban, raw_bic, raw_holder or opco.name)
        except InvalidForm as error:
            raise InvalidForm({_FIELDS[k]: v for k, v in error.errors.items()}) from None
        if (account.iban, account.bic, account.holder) != (
            opco.payer_iban,
            opco.payer_bic,
            opco.payer_account_holder,
        ):
            changes["payer_iban"] = [mask(opco.payer_iban), mask(account.iban)]
            opco.payer_iban, opco.payer_bic, opco.payer_account_holder = (
                account.iban,
                account.bic,
                account.holder,
            )
    if changes:
        audit.record("opco.settings_changed", organisation_id=opco.id, actor=actor, obj=opco, data=changes)
    return opco


def _billing_identity(opco: Opco, billing: dict[str, str | None]) -> dict:
    """The OPCO as buyer on the invoices addressed to it: SIRET (checked), address, VAT number; all errors at
    once, nothing changed when one is wrong."""
    values = {
        key: (billing.get(key) or "").strip() for key in ("siret", "address", "postal_code", "city", "vat")
    }
    checks = Collect()
    siret = (checks.run(validate_siret, values["siret"]) or "") if values["siret"] else ""
    if values["postal_code"] and not (len(values["postal_code"]) == 5 and values["postal_code"].isdigit()):
        checks.errors.setdefault("billing_postal_code", "Le code postal s'écrit avec 5 chiffres.")
    vat = values["vat"].replace(" ", "").upper()
    if vat and not (vat.startswith("FR") and len(vat) == 13 and vat[2:].isalnum()):
        checks.errors.setdefault(
            "vat_number", "Le numéro de TVA intracommunautaire s'écrit FR suivi de 11 caractères."
        )
    checks.done()
    new = {
        "siret": siret,
        "billing_address": values["address"],
        "billing_postal_code": values["postal_code"],
        "billing_city": values["city"],
        "vat_number": vat,
    }
    changes = {k: [getattr(opco, k), v] for k, v in new.items() if getattr(opco, k) != v}
    for key, value in new.items():
        setattr(opco, key, value)
    return changes
