"""How a training organisation invoices the OPCO for an action, set on its referencing by the OPCO
(services.invoicing reads it): per trainee prorated by the hours done (the default, and what the award of a
tender creates), hours done × an hourly rate, or a group price due in full at an attendance threshold."""

from __future__ import annotations

from marketplace.services.errors import DomainError
from marketplace.services.french_numbers import optional_int, parse_euros

PRICING_MODES = {
    "per_trainee": "Prix par stagiaire, au prorata des heures réalisées",
    "per_hour": "Taux horaire × heures réalisées",
    "group": "Prix de groupe, dû en entier au-delà d'un seuil d'assiduité",
}


def terms(mode: str | None, hourly: str | None, group: str | None, threshold: str | None) -> dict:
    """Validated pricing columns of a referencing (services.invoicing reads them)."""
    mode = (mode or "").strip() or "per_trainee"
    if mode not in PRICING_MODES:
        raise DomainError("Choisissez le mode de facturation dans la liste.", field="pricing_mode")
    terms = {
        "pricing_mode": mode,
        "hourly_rate_cents": None,
        "group_price_cents": None,
        "group_threshold_pct": None,
    }
    if mode == "per_hour":
        terms["hourly_rate_cents"] = parse_euros(hourly, "hourly_rate", "Le taux horaire")
        if not terms["hourly_rate_cents"]:
            raise DomainError("Indiquez le taux horaire (€ HT).", field="hourly_rate")
    elif mode == "group":
        terms["group_price_cents"] = parse_euros(group, "group_price", "Le prix de groupe")
        if not terms["group_price_cents"]:
            raise DomainError("Indiquez le prix de groupe (€ HT).", field="group_price")
        pct = optional_int(
            threshold, "group_threshold", "Le seuil est un pourcentage entier, de 1 à 100.", 1, 100
        )
        if pct is None:
            raise DomainError("Indiquez le seuil d'assiduité (%).", field="group_threshold")
        terms["group_threshold_pct"] = pct
    return terms
