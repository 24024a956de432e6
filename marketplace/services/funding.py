"""What a session costs a company: price HT, VAT, price TTC, amount funded by the OPCO, remainder.

The OPCO funds a share of the price that depends on the company's size band (action's funding shares).
Whether that share applies to the HT or the TTC price is the OPCO's rule (``Opco.funding_basis``), which an
action may override (``CollectiveAction.funding_basis``). The VAT rate follows the training organisation's
regime (exempt under art. 261-4-4° a or under the 293 B franchise: no VAT) and, for a VAT-liable
organisation, where the training is delivered: 20 % in mainland France and Corse, 8,5 % in Guadeloupe,
Martinique and La Réunion (art. 296 CGI), none in Guyane and Mayotte (art. 294 CGI).

Worked example: 1 000 € HT funded at 80 %, VAT 20 % → price 1 200 € TTC.
- HT basis: the OPCO pays 800 €; the company owes the rest of the price, VAT on the whole price included:
  1 200 − 800 = 400 € TTC.
- TTC basis: the OPCO pays 80 % of 1 200 = 960 €; the company owes 240 € TTC.
In both cases the HT share funded is 800 € and the HT remainder 200 € (``funded_cents`` /
``remainder_cents``, which add up to the HT price). Amounts are integer cents, rounded half up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from marketplace.models import CollectiveAction, TrainingSession
from marketplace.services.identifiers import vat_rate
from marketplace.services.places import session_departement


class FundingBasis:
    HT = "ht"
    TTC = "ttc"
    ALL = (HT, TTC)
    LABELS = {HT: "Sur le prix HT", TTC: "Sur le prix TTC"}


# Rates of a VAT-liable organisation by département of delivery (mainland: the standard rate).
STANDARD_RATE = Decimal("0.20")
OVERSEAS_RATE = Decimal("0.085")  # art. 296 CGI
_RATES_BY_DEPARTEMENT: dict[str, Decimal] = {
    "971": OVERSEAS_RATE,  # Guadeloupe
    "972": OVERSEAS_RATE,  # Martinique
    "974": OVERSEAS_RATE,  # La Réunion
    "973": Decimal(0),  # Guyane, art. 294 CGI
    "976": Decimal(0),  # Mayotte, art. 294 CGI
    # Collectivités outside the French VAT territory.
    "975": Decimal(0),  # Saint-Pierre-et-Miquelon
    "BL": Decimal(0),
    "MF": Decimal(0),
    "986": Decimal(0),
    "987": Decimal(0),
    "988": Decimal(0),
}


def vat_rate_for(regime: str, departement: str | None) -> Decimal:
    """VAT rate of a training organisation's regime for a training delivered in ``departement``."""
    base = vat_rate(regime)  # also refuses an unknown regime
    if base == 0:
        return base
    return _RATES_BY_DEPARTEMENT.get(departement or "", STANDARD_RATE)


@dataclass(frozen=True)
class Funding:
    price_cents: int  # HT
    share_percent: int | None  # None: this size band is not eligible
    funded_cents: int  # HT share funded by the OPCO
    remainder_cents: int  # HT share not funded
    vat_rate: Decimal
    basis: str = FundingBasis.HT
    vat_cents: int = 0  # VAT on the whole price
    opco_amount_cents: int = 0  # what the OPCO pays (its share of the VAT too when it funds TTC)

    @property
    def eligible(self) -> bool:
        return self.share_percent is not None

    @property
    def price_ttc_cents(self) -> int:
        return self.price_cents + self.vat_cents

    @property
    def remainder_ttc_cents(self) -> int:
        """What the company pays: the TTC price less what the OPCO pays."""
        return self.price_ttc_cents - self.opco_amount_cents


def _percent_of(cents: int, percent: int | Decimal) -> int:
    return int((Decimal(cents) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def compute(
    price_cents: int, share_percent: int | None, rate: Decimal = Decimal(0), basis: str = FundingBasis.HT
) -> Funding:
    """Funded HT = price × share (cents, half up); the OPCO pays it, or the same share of the TTC price."""
    vat = int((Decimal(price_cents) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if share_percent is None:
        return Funding(price_cents, None, 0, price_cents, rate, basis, vat, 0)
    funded = _percent_of(price_cents, share_percent)
    paid = _percent_of(price_cents + vat, share_percent) if basis == FundingBasis.TTC else funded
    return Funding(price_cents, share_percent, funded, price_cents - funded, rate, basis, vat, paid)


def basis_of(action: CollectiveAction) -> str:
    """The action's own funding basis, else its OPCO's."""
    return action.funding_basis or action.opco.funding_basis or FundingBasis.HT


def for_session(session: TrainingSession, size_band: str, company=None) -> Funding:
    """Figures for one trainee of a company in ``size_band`` (``company`` locates a remote session)."""
    rate = vat_rate_for(session.provider.vat_regime, session_departement(session, company))
    return compute(session.price_cents, session.action.share_for(size_band), rate, basis_of(session.action))


def for_action(action: CollectiveAction, size_band: str, price_cents: int | None = None) -> Funding:
    """HT figures of the catalogue (the VAT depends on the organisation and place of each session)."""
    return compute(action.price_cents if price_cents is None else price_cents, action.share_for(size_band))
