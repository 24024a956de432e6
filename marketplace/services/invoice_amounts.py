"""The arithmetic of the invoices of a delivered session: pure functions over frozen figures, no database.

Rounding rule: every line amount is rounded once, half up, to the cent (``half_up``); its VAT is the line
amount × the line's rate, rounded half up; an invoice's totals are the sums of its lines (HT, VAT, TTC =
HT + VAT). Nothing is recomputed from totals.

Split between payers (L6354-1: the OPCO pays only training actually done, never a dédit):
- per_hour: done = minutes done / 60 × hourly rate; the OPCO's part = done × funded / price (the share frozen
  on the enrolment), the company's = done − OPCO's.
- per_trainee: done = price × minutes done / minutes planned; the OPCO's part = funded × done / planned,
  the company's = done − OPCO's (so a full attendance gives exactly the frozen funded / remainder figures).
- group: one amount for the group: in full when the trainee-minutes done reach ``threshold`` % of those
  planned, else prorated (group price × done / planned); the OPCO's part = amount × Σ funded / Σ price of the
  trainees; the rest is split between companies in proportion to their Σ remainder (the last one takes the
  cents left, so the parts add up to the amount).
- dédit (late cancellation, unjustified absence): price HT × the rate frozen on the enrolment, on the
  company's invoice only; outside the scope of VAT (an indemnity, not a service: no VAT on its line).

Worked examples are in tests/services/test_invoice_amounts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vat_of(amount_cents: int, rate: Decimal) -> int:
    return half_up(Decimal(amount_cents) * Decimal(rate))


def prorate(cents: int, numerator: int, denominator: int) -> int:
    """``cents`` × numerator / denominator, half up (0 when nothing was planned)."""
    if denominator <= 0:
        return 0
    return half_up(Decimal(cents) * numerator / denominator)


@dataclass(frozen=True)
class Trainee:
    """What the closing and the enrolment froze for one trainee (or a cancelled enrolment)."""

    enrolment_id: int
    company_id: int
    name: str
    price_cents: int  # HT per trainee
    funded_cents: int  # OPCO's share HT
    vat_rate: Decimal
    planned_minutes: int
    attended_minutes: int
    dedit_rate_pct: int = 0
    dedit_reason: str | None = None  # « Annulation hors délai » / « Absence non justifiée »: a dédit is due


@dataclass(frozen=True)
class Pricing:
    mode: str  # per_trainee | per_hour | group
    hourly_rate_cents: int = 0
    group_price_cents: int = 0
    group_threshold_pct: int = 0


@dataclass
class Line:
    kind: str  # training | dedit
    label: str
    quantity: Decimal
    unit: str
    unit_price_cents: int
    amount_ht_cents: int
    vat_rate: Decimal
    enrolment_id: int | None = None
    minutes_planned: int | None = None
    minutes_done: int | None = None

    @property
    def vat_cents(self) -> int:
        return vat_of(self.amount_ht_cents, self.vat_rate)


@dataclass
class Draft:
    """One invoice to create: payer « opco » (company_id None) or « company »."""

    payer: str
    company_id: int | None
    lines: list[Line] = field(default_factory=list)

    @property
    def total_ht_cents(self) -> int:
        return sum(line.amount_ht_cents for line in self.lines)

    @property
    def vat_cents(self) -> int:
        return sum(line.vat_cents for line in self.lines)

    @property
    def total_ttc_cents(self) -> int:
        return self.total_ht_cents + self.vat_cents


def hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _share(done: int, trainee: Trainee) -> int:
    """The OPCO's part of an amount done for this trainee (its frozen funded / price ratio)."""
    return prorate(done, trainee.funded_cents, trainee.price_cents)


def _trainee_lines(trainee: Trainee, pricing: Pricing) -> tuple[Line | None, Line | None]:
    """(OPCO line, company line) for the training one trainee did; None where the amount is zero."""
    done_minutes, planned = trainee.attended_minutes, trainee.planned_minutes
    if done_minutes <= 0:
        return None, None
    if pricing.mode == "per_hour":
        done = half_up(Decimal(pricing.hourly_rate_cents) * done_minutes / 60)
        opco = _share(done, trainee)
        quantity, unit = hours(done_minutes), "heure"

        def unit_price(_part: int) -> int:
            return prorate(pricing.hourly_rate_cents, _part, done) if done else 0
    else:
        done = prorate(trainee.price_cents, done_minutes, planned)
        opco = prorate(trainee.funded_cents, done_minutes, planned)
        quantity, unit = Decimal(1), "stagiaire"

        def unit_price(part: int) -> int:
            return part

    company = done - opco
    label = f"{trainee.name} — {hours(done_minutes)} h réalisées sur {hours(planned)} h".replace(".", ",")
    lines = []
    for part, who in ((opco, "OPCO"), (company, "entreprise")):
        if part <= 0:
            lines.append(None)
            continue
        lines.append(
            Line(
                kind="training",
                label=f"{label} (part {who})",
                quantity=quantity,
                unit=unit,
                unit_price_cents=unit_price(part),
                amount_ht_cents=part,
                vat_rate=trainee.vat_rate,
                enrolment_id=trainee.enrolment_id,
                minutes_planned=planned,
                minutes_done=done_minutes,
            )
        )
    return lines[0], lines[1]


def group_amount(pricing: Pricing, done_minutes: int, planned_minutes: int) -> int:
    """The group price in full at or above the threshold of trainee-minutes done, prorated below it."""
    if planned_minutes <= 0 or done_minutes <= 0:
        return 0
    if done_minutes * 100 >= pricing.group_threshold_pct * planned_minutes:
        return pricing.group_price_cents
    return prorate(pricing.group_price_cents, done_minutes, planned_minutes)


def _group_drafts(trainees: list[Trainee], pricing: Pricing, opco: Draft, companies: dict[int, Draft]):
    billed = trainees
    done = sum(t.attended_minutes for t in billed)
    planned = sum(t.planned_minutes for t in billed)
    amount = group_amount(pricing, done, planned)
    if amount <= 0:
        return
    price = sum(t.price_cents for t in billed)
    funded = sum(t.funded_cents for t in billed)
    opco_part = prorate(amount, funded, price)
    rate = billed[0].vat_rate
    full = done * 100 >= pricing.group_threshold_pct * planned
    label = (
        f"Prix de groupe — {hours(done)} h stagiaires réalisées sur {hours(planned)} h "
        f"(seuil {pricing.group_threshold_pct} % {'atteint' if full else 'non atteint : au prorata'})"
    ).replace(".", ",")

    def line(part: int, who: str, minutes_done: int, minutes_planned: int) -> Line:
        return Line("training", f"{label} (part {who})", Decimal(1), "forfait", part, part, rate, None,
                    minutes_planned, minutes_done)  # fmt: skip

    if opco_part > 0:
        opco.lines.append(line(opco_part, "OPCO", done, planned))
    rest = amount - opco_part
    by_company: dict[int, list[Trainee]] = {}
    for t in billed:
        by_company.setdefault(t.company_id, []).append(t)
    remainders = {c: sum(t.price_cents - t.funded_cents for t in ts) for c, ts in by_company.items()}
    total_remainder = sum(remainders.values())
    given = 0
    order = sorted(c for c in remainders if remainders[c] > 0)
    for i, company_id in enumerate(order):
        part = rest - given if i == len(order) - 1 else prorate(rest, remainders[company_id], total_remainder)
        given += part
        if part > 0:
            ts = by_company[company_id]
            companies.setdefault(company_id, Draft("company", company_id)).lines.append(
                line(
                    part,
                    "entreprise",
                    sum(t.attended_minutes for t in ts),
                    sum(t.planned_minutes for t in ts),
                )
            )


DEDIT_LABELS = {"late_cancellation": "annulation hors délai", "absent": "absence non justifiée"}


def dedit_line(trainee: Trainee) -> Line | None:
    """Indemnité de dédit: price HT × the frozen rate; outside the scope of VAT (no VAT on its line)."""
    if not trainee.dedit_reason or not trainee.dedit_rate_pct:
        return None
    amount = prorate(trainee.price_cents, trainee.dedit_rate_pct, 100)
    if amount <= 0:
        return None
    return Line(
        kind="dedit",
        label=(
            f"Indemnité de dédit — {trainee.name}, {DEDIT_LABELS[trainee.dedit_reason]} "
            f"({trainee.dedit_rate_pct} % du prix HT)"
        ),
        quantity=Decimal(1),
        unit="forfait",
        unit_price_cents=amount,
        amount_ht_cents=amount,
        vat_rate=Decimal(0),
        enrolment_id=trainee.enrolment_id,
        minutes_planned=trainee.planned_minutes,
        minutes_done=trainee.attended_minutes,
    )


def drafts(trainees: list[Trainee], pricing: Pricing) -> list[Draft]:
    """The OPCO's invoice then one per company (by id), each with lines; empty ones are left out.

    ``trainees`` holds the closed trainees and the enrolments cancelled late (``dedit_reason``
    « late_cancellation », no minutes); a closed unjustified absence has ``dedit_reason`` « absent »."""
    opco = Draft("opco", None)
    companies: dict[int, Draft] = {}
    in_session = [t for t in trainees if t.dedit_reason != "late_cancellation"]
    if pricing.mode == "group":
        _group_drafts(in_session, pricing, opco, companies)
    else:
        for trainee in in_session:
            opco_line, company_line = _trainee_lines(trainee, pricing)
            if opco_line:
                opco.lines.append(opco_line)
            if company_line:
                companies.setdefault(trainee.company_id, Draft("company", trainee.company_id)).lines.append(
                    company_line
                )
    for trainee in trainees:
        line = dedit_line(trainee)
        if line:
            companies.setdefault(trainee.company_id, Draft("company", trainee.company_id)).lines.append(line)
    result = [opco] + [companies[c] for c in sorted(companies)]
    return [d for d in result if d.total_ht_cents > 0]
