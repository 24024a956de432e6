"""What a session costs a company: price, amount funded by the OPCO ("prise en charge"), remainder.

The OPCO funds a share of the HT price that depends on the company's size band (action's funding
shares). Amounts are integer cents; the remainder is also shown TTC using the training organisation's
VAT regime (exempt organisations invoice the same amount HT and TTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from marketplace.models import CollectiveAction, TrainingSession
from marketplace.services.identifiers import vat_rate


@dataclass(frozen=True)
class Funding:
    price_cents: int
    share_percent: int | None  # None: this size band is not eligible
    funded_cents: int
    remainder_cents: int
    vat_rate: Decimal

    @property
    def eligible(self) -> bool:
        return self.share_percent is not None

    @property
    def price_ttc_cents(self) -> int:
        return _with_vat(self.price_cents, self.vat_rate)

    @property
    def remainder_ttc_cents(self) -> int:
        return _with_vat(self.remainder_cents, self.vat_rate)


def _with_vat(cents: int, rate: Decimal) -> int:
    return int((Decimal(cents) * (1 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def compute(price_cents: int, share_percent: int | None, rate: Decimal = Decimal(0)) -> Funding:
    """Funded = price × share, rounded to the cent (half up); remainder = price − funded."""
    if share_percent is None:
        return Funding(price_cents, None, 0, price_cents, rate)
    funded = int((Decimal(price_cents) * share_percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Funding(price_cents, share_percent, funded, price_cents - funded, rate)


def for_session(session: TrainingSession, size_band: str) -> Funding:
    return compute(session.price_cents, session.action.share_for(size_band), vat_rate(session.provider.vat_regime))


def for_action(action: CollectiveAction, size_band: str, price_cents: int | None = None) -> Funding:
    return compute(action.price_cents if price_cents is None else price_cents, action.share_for(size_band))
