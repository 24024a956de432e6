"""How the audit trail reads in the log page: French names for every key and field, readable values (dates
jj/mm/aaaa, amounts « 1 234,56 € HT », Oui/Non, state and role labels), and which events each kind of
organisation can have (the log's filter offers only those).

The trail stores codes (stable, searchable); the words live here so a wording change never rewrites history.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from marketplace.formatting import date_fr, datetime_fr, money_fr, number_fr, sort_key_fr

# Keys of an event's data.
KEY_LABELS = {
    "from": "avant",
    "to": "après",
    "before": "avant",
    "after": "après",
    "reason": "motif",
    "status": "état",
    "email": "adresse e-mail",
    "role": "rôle",
    "session": "session n°",
    "employee": "salarié n°",
    "from_employee": "salarié remplacé n°",
    "to_employee": "salarié remplaçant n°",
    "kind": "type",
    "moment": "posée",
    "opco": "OPCO",
    "declared_opco": "OPCO indiqué",
    "idcc": "IDCC",
    "siret": "SIRET",
    "nda": "NDA",
    "code": "code",
    "tender_id": "appel d'offres n°",
    "lot_id": "lot n°",
    "lot": "lot n°",
    "lots": "lots",
    "criteria": "critères",
    "candidates": "candidats",
    "provider": "organisme de formation",
    "document_id": "document n°",
    "document": "document",
    "filename": "fichier",
    "size": "taille",
    "fields": "champs modifiés",
    "changed": "champs modifiés",
    "champs": "champs modifiés",
    "reference": "référence",
    "title": "intitulé",
    "start_date": "début",
    "action": "action",
    "count": "nombre",
    "published": "réponse publiée à tous",
    "first": "première réponse",
    "waitlist_offer_hours": "délai pour accepter une place libérée (heures)",
    "funding_basis": "prise en charge calculée sur",
    "headcount": "effectif",
    "headcount_year": "année de l'effectif",
    "size_band": "tranche d'effectif",
    "old_start": "ancien début",
    "old_end": "ancienne fin",
    "new_start": "nouveau début",
    "new_end": "nouvelle fin",
    "ajoutés": "ajoutés",
    "mis à jour": "mis à jour",
    "erreurs": "lignes en erreur",
    "method": "mode de signature",
    "slot": "demi-journée n°",
    "sha256": "empreinte SHA-256",
    "job": "tâche",
    "threshold": "seuil atteint (%)",
    "committed_cents": "engagé",
    "allotted_cents": "montant alloué",
    "label": "libellé",
    "year": "année",
    "fund": "fonds",
    "thresholds": "seuils d'alerte (%)",
    "when_exhausted": "quand l'enveloppe est épuisée",
    "envelope": "enveloppe n°",
    "payer": "payeur",
    "credit_note": "avoir",
    "amount_cents": "montant",
    "means": "moyen de paiement",
    "mode": "mode du compte Stripe",
    "publishable_key": "clé publiable",
    "secret_key": "clé secrète",
    "webhook_secret": "secret de signature du webhook",
    "funding_flow": "paiement de la part OPCO",
    "validated_cents": "montant validé",
    "total_cents": "montant total",
    "total_ht_cents": "total",
    "total_ttc_cents": "total",
    "sampled": "tirée au sort",
    "deadline": "date limite",
    "batch": "lot",
    "invoices": "factures",
    "iban": "IBAN",
    "bic": "BIC",
    "billing_address": "adresse de facturation",
    "billing_postal_code": "code postal de facturation",
    "billing_city": "commune de facturation",
    "vat_number": "numéro de TVA intracommunautaire",
    "control_sampling_pct": "part tirée au sort pour contrôle (%)",
    "payer_iban": "IBAN du compte débité",
    "export": "export",
    "format": "format",
}

# Names of the fields of actions, sessions, referencings, responses and certificates (in « champs modifiés »
# and in before/after details).
FIELD_LABELS = {
    "title": "intitulé",
    "reference": "référence",
    "theme_code": "thème",
    "modality": "modalité",
    "duration_hours": "durée (heures)",
    "campaign_year": "année de campagne",
    "price_cents": "prix par stagiaire",
    "is_national": "action nationale",
    "objectives": "objectifs",
    "programme": "programme",
    "prerequisites": "prérequis",
    "target_public": "public visé",
    "cap_per_company_per_session": "plafond par entreprise et par session",
    "cap_per_company_per_year": "plafond par entreprise et par an",
    "cancellation_days": "délai d'annulation (jours ouvrés)",
    "requires_approval": "validation par l'OPCO",
    "funding_basis": "prise en charge calculée sur",
    "regions": "régions",
    "branches": "branches (IDCC)",
    "shares": "prise en charge par tranche d'effectif",
    "valid_from": "début de validité",
    "valid_until": "fin de validité",
    "registration_deadline": "date limite d'inscription",
    "capacity_min": "minimum de stagiaires",
    "capacity_max": "maximum de stagiaires",
    "is_remote": "à distance",
    "address": "adresse",
    "postal_code": "code postal",
    "city": "commune",
    "region_code": "région",
    "trainer_names": "formateurs",
    "contact_name": "contact",
    "contact_email": "adresse e-mail du contact",
    "contact_phone": "téléphone du contact",
    "notes": "informations pratiques",
    "slots": "demi-journées",
    "price_per_trainee_cents": "prix par stagiaire",
    "price_per_group_cents": "prix par groupe",
    "team": "équipe",
    "certifier": "certificateur",
    "number": "numéro",
    "categories": "catégories",
    "issued_on": "délivré le",
    "expires_on": "expire le",
    "funding_flow": "paiement de la part OPCO",
    "dedit_rate_pct": "indemnité de dédit (% du prix HT)",
    "pricing_mode": "mode de facturation",
    "hourly_rate_cents": "taux horaire",
    "group_price_cents": "prix de groupe",
    "group_threshold_pct": "seuil d'assiduité (%)",
}

# Amounts are stored in cents, HT unless the key says otherwise.
_MONEY_KEYS = {
    "price_cents",
    "price_per_trainee_cents",
    "price_per_group_cents",
    "hourly_rate_cents",
    "group_price_cents",
    "amount_cents",
    "total_ht_cents",
}
_TTC_MONEY_KEYS = {"validated_cents", "total_ttc_cents", "total_cents", "amount_cents"}  # an OPCO pays TTC
_BUDGET_MONEY_KEYS = {"committed_cents", "allotted_cents"}  # the OPCO's share, whatever its basis
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _state_labels(action: str) -> dict[str, str]:
    """The state labels of the object the action is about (« cancelled » reads differently per object)."""
    from marketplace import models

    holders = {
        "enrolment": models.EnrolmentStatus,
        "session": models.SessionStatus,
        "action": models.ActionStatus,
        "catalogue": models.ActionStatus,
        "referencing": models.ReferencingStatus,
        "tender": models.TenderStatus,
        "tender_response": models.ResponseStatus,
        "invoice": models.InvoiceStatus,
        "complaint": models.ComplaintStatus,
    }
    holder = holders.get(action.rsplit(".", 1)[0])
    return holder.LABELS if holder else {}


def _code_labels(key: str) -> dict[str, str]:
    """Labels of the codes a key may hold (roles, kinds, bases, size bands, document kinds)."""
    from marketplace.models import OrgKind, TenderDocumentKind
    from marketplace.services import identifiers
    from marketplace.services.roles import ROLES

    if key == "means":
        from marketplace.models import PaymentMeans

        return PaymentMeans.LABELS
    if key == "mode":
        return {"test": "test", "live": "production"}
    if key == "role":
        return {code: role.label for roles in ROLES.values() for code, role in roles.items()}
    if key == "kind":
        return {**OrgKind.LABELS, **TenderDocumentKind.LABELS}
    if key == "funding_basis":
        return {"ht": "prix HT", "ttc": "prix TTC"}
    if key == "funding_flow":
        return {"subrogation": "subrogation de paiement", "direct_purchase": "achat direct"}
    if key == "pricing_mode":
        from marketplace.services.referencing_pricing import PRICING_MODES

        return {code: label.lower() for code, label in PRICING_MODES.items()}
    if key == "payer":
        from marketplace.models import Payer

        return Payer.LABELS
    if key == "size_band":
        return {code: label for code, label, _low, _high in identifiers.SIZE_BANDS}
    if key == "method":
        from marketplace.models import SignMethod

        return SignMethod.LABELS
    if key in {"fund", "when_exhausted"}:
        from marketplace.models import Fund, WhenExhausted

        return Fund.LABELS if key == "fund" else WhenExhausted.LABELS
    if key == "modality":
        from marketplace.models import Modality

        return Modality.LABELS
    return {}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or KEY_LABELS.get(name) or name.replace("_", " ")


def value_fr(key: str, value, states: dict[str, str] | None = None) -> str:
    """One value as a French reader expects it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if key in {"from", "to", "status"} and isinstance(value, str) and states:
        return states.get(value, value)
    if key in _MONEY_KEYS and isinstance(value, int):
        return money_fr(value, "HT")
    if key in _TTC_MONEY_KEYS and isinstance(value, int):
        return money_fr(value, "TTC")
    if key in _BUDGET_MONEY_KEYS and isinstance(value, int):
        return money_fr(value)
    if key in {"fields", "changed"} and isinstance(value, list):
        return ", ".join(field_label(str(name)) for name in value)
    if key == "size" and isinstance(value, int):
        return f"{number_fr(max(1, round(value / 1024)))} Ko"
    if isinstance(value, list):
        if len(value) == 2 and key not in {"idcc", "candidates", "lots", "regions", "branches", "categories"}:
            # [previous, new] pairs (settings, headcount)
            return f"{value_fr(key, value[0], states)} → {value_fr(key, value[1], states)}"
        return ", ".join(value_fr(key, v, states) for v in value) or "—"
    if isinstance(value, dict):
        return " ; ".join(f"{field_label(str(k))} : {value_fr(str(k), v, states)}" for k, v in value.items())
    if isinstance(value, datetime):
        return datetime_fr(value)
    if isinstance(value, date):
        return date_fr(value)
    if isinstance(value, int):
        return number_fr(value)
    if isinstance(value, str):
        codes = _code_labels(key)
        if value in codes:
            return codes[value]
        if _ISO_DATE.match(value):
            return date_fr(date.fromisoformat(value))
        if _ISO_DATETIME.match(value):
            try:
                return datetime_fr(datetime.fromisoformat(value))
            except ValueError:
                return value
    return str(value)


def describe(data: dict | None, action: str = "") -> list[tuple[str, str]]:
    """The event's data as (French key, readable value) pairs for the log page. A change recorded as
    before/after dicts reads field by field: « prix par stagiaire : 420,00 € HT → 450,00 € HT »."""
    states = _state_labels(action)
    data = dict(data or {})
    changes: list[tuple[str, str]] = []
    before, after = data.get("before"), data.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        del data["before"], data["after"]
        data.pop("changed", None)  # the fields are listed one by one
        for name in list(after) + [k for k in before if k not in after]:
            was, now = value_fr(name, before.get(name), states), value_fr(name, after.get(name), states)
            changes.append((field_label(name), f"{was} → {now}"))
    pairs = [(_key_label(key, value), value_fr(key, value, states)) for key, value in data.items()]
    return pairs + changes


def _key_label(key: str, value) -> str:
    if key == "action" and isinstance(value, int):
        return "action n°"
    return KEY_LABELS.get(key) or field_label(key)


# Which events each kind of organisation's log can hold (the filter offers these only). Events are written
# to the organisation that acted, and for enrolments to the company too.
_COMMON = ("org.", "auth.", "member.", "complaint.", "export.")
_BY_KIND = {
    "company": ("company.", "employee.", "enrolment.", "invoice.pay", "invoice.start_payment"),
    "opco": (
        "opco.",
        "budget.",
        "catalogue.",
        "action.",
        "referencing.",
        "tender.created",
        "tender.updated",
        "tender.attachment_",
        "tender.publish",
        "tender.close",
        "tender.start_analysis",
        "tender.award",
        "tender.declare_unsuccessful",
        "tender.question_answered",
        "tender.declaration_signed",
        "tender.scores_submitted",
        "tender_response.declare_",
        "tender_response.retain",
        "tender_response.reject",
        "enrolment.approve",
        "enrolment.refuse",
        "session.request_correction",
        "session.correction_requested",
        "service_fait.",
        "invoice.",
        "survey_question.",
    ),
    "provider": (
        "provider.",
        "session.",
        "tender.question_asked",
        "tender_response.started",
        "tender_response.draft_saved",
        "tender_response.document_",
        "tender_response.submit",
        "tender_response.withdraw",
        "enrolment.session_cancelled",
        "enrolment.convoke",
        "enrolment.start_training",
        "enrolment.attended",
        "enrolment.partially_attended",
        "enrolment.absent",
        "enrolment.abandon",
        "enrolment.close",
        "attendance.",
        "convocation.",
        "certificates.",
        "invoice.",
    ),
}


def kind_can_have(kind: str, action: str) -> bool:
    """Whether an organisation of this kind can have this event in its log."""
    if action.startswith(_COMMON):
        return True
    return action.startswith(_BY_KIND.get(kind, ()))


def action_choices(labels: dict[str, str], kind: str | None = None) -> list[tuple[str, str]]:
    """The events the log can be filtered by (those of this kind of organisation), in French order."""
    items = [(code, label) for code, label in labels.items() if kind is None or kind_can_have(kind, code)]
    return sorted(items, key=lambda item: sort_key_fr(item[1]))
