"""Numbers and amounts as French users type them: « 1 200,50 », « 1.200,50 », « 950 € », « 10,5 ».

Every form that takes euros or a whole number reads it here, so the same typing is accepted everywhere and the
same French message explains a refusal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from marketplace.services.errors import DomainError

MAX_PRICE_CENTS = 10_000_000  # 100 000 € HT per trainee: anything above is a typing error

SPACES = re.compile(r"[\s\u00a0\u202f]+")


def decimal_fr(text: str | int | Decimal | None) -> Decimal | None:
    """« 1 200,50 », « 1200.50 », « 1.200,50 » → Decimal; None when empty; InvalidOperation when not a number."""
    if text is None:
        return None
    if isinstance(text, bool):
        raise InvalidOperation
    if isinstance(text, int | Decimal):
        return Decimal(text)
    cleaned = SPACES.sub("", str(text)).replace("€", "")
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        # The last separator is the decimal one; the other groups thousands.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    else:
        cleaned = cleaned.replace(",", ".")
    if not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", cleaned):
        raise InvalidOperation
    return Decimal(cleaned)


def parse_euros(value: str | int | Decimal | None, field_name: str = "price", label: str = "Le prix") -> int:
    """Euros as typed (« 1 200,50 », « 1200.5 », « 950 € ») to integer cents; more than 0 and at most 100 000 €."""
    try:
        amount = decimal_fr(value)
    except InvalidOperation:
        raise DomainError(
            f"{label} doit être un montant en euros, par exemple 1 200,50.", field=field_name
        ) from None
    if amount is None:
        raise DomainError(f"{label} est obligatoire.", field=field_name)
    if not amount.is_finite():  # « NaN », « Infinity »
        raise DomainError(f"{label} doit être un montant en euros, par exemple 1 200,50.", field=field_name)
    if amount.adjusted() > 6 or amount * 100 > MAX_PRICE_CENTS:  # adjusted(): no overflow on 10**1000000
        raise DomainError(f"{label} ne peut pas dépasser 100 000 € par stagiaire.", field=field_name)
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(
            f"{label} ne peut pas avoir plus de deux chiffres après la virgule.", field=field_name
        )
    cents = int(amount * 100)
    if cents <= 0:
        raise DomainError(f"{label} doit être supérieur à 0 €.", field=field_name)
    if cents > MAX_PRICE_CENTS:
        raise DomainError(f"{label} ne peut pas dépasser 100 000 € par stagiaire.", field=field_name)
    return cents


def money_ht(cents: int) -> str:
    """« 1 200,50 € HT » (narrow no-break space between thousands, as the templates' money filter)."""
    euros, rest = divmod(cents, 100)
    return f"{euros:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€ HT"


def optional_int(value, field_name: str, message: str, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and not SPACES.sub("", value)):
        return None
    if isinstance(value, bool):
        raise DomainError(message, field=field_name)
    text = SPACES.sub("", str(value))
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
        raise DomainError(message, field=field_name)
    return int(text)
