"""Worked examples of invoice amounts, checked to the cent (services.invoice_amounts).

Rounding: each line half up to the cent, VAT per line half up, totals = sums of lines.
"""

from decimal import Decimal

from marketplace.services.invoice_amounts import Pricing, Trainee, drafts, group_amount

PER_TRAINEE = Pricing("per_trainee")


def trainee(n=1, company=10, price=100_000, funded=80_000, planned=840, done=840, rate="0", **kw):
    return Trainee(n, company, f"Stagiaire {n}", price, funded, Decimal(rate), planned, done, **kw)


def amounts(result):
    return [(d.payer, d.company_id, d.total_ht_cents, d.vat_cents, d.total_ttc_cents) for d in result]


def test_per_trainee_full_attendance_gives_the_frozen_split():
    # 1 000 € HT, OPCO 80 %: OPCO 800,00 €, company 200,00 €, exempt.
    result = drafts([trainee()], PER_TRAINEE)
    assert amounts(result) == [("opco", None, 80_000, 0, 80_000), ("company", 10, 20_000, 0, 20_000)]


def test_per_trainee_partial_attendance_is_prorated_half_up():
    # 10 h 30 done of 14 h on 1 000 € (OPCO 80 %): done = 750,00 €; OPCO 800 × 630/840 = 600,00 €.
    result = drafts([trainee(done=630)], PER_TRAINEE)
    assert amounts(result) == [("opco", None, 60_000, 0, 60_000), ("company", 10, 15_000, 0, 15_000)]
    # 7 h 05 (425 min) of 14 h on 999,99 €, OPCO 100 %: 999,99 × 425 / 840 = 505,9473… → 505,95 €.
    result = drafts([trainee(price=99_999, funded=99_999, done=425)], PER_TRAINEE)
    assert amounts(result) == [("opco", None, 50_595, 0, 50_595)]
    line = result[0].lines[0]
    assert (line.minutes_done, line.minutes_planned, line.enrolment_id) == (425, 840, 1)


def test_per_hour_with_vat_20():
    # 12 h 20 (740 min) × 45,50 €/h = 561,1666… → 561,17 € HT; OPCO 50 %: 280,585 → 280,59 €;
    # company 280,58 €. VAT 20 % per line: 56,118 → 56,12 and 56,116 → 56,12.
    pricing = Pricing("per_hour", hourly_rate_cents=4550)
    result = drafts([trainee(price=63_700, funded=31_850, done=740, rate="0.20")], pricing)
    assert amounts(result) == [
        ("opco", None, 28_059, 5_612, 33_671),
        ("company", 10, 28_058, 5_612, 33_670),
    ]
    assert result[0].lines[0].quantity == Decimal("12.33")
    assert result[0].lines[0].unit == "heure"


def test_group_price_at_or_over_threshold_is_due_in_full():
    # Group 3 000 € HT, threshold 75 %: 3 trainees × 14 h planned = 42 h, 35 h done (83 %) → 3 000 €.
    # OPCO funds 80 % of each price → 2 400,00 €; companies share 600,00 € by their remainders.
    pricing = Pricing("group", group_price_cents=300_000, group_threshold_pct=75)
    people = [trainee(1, 10), trainee(2, 10, done=420), trainee(3, 20)]
    result = drafts(people, pricing)
    assert amounts(result) == [
        ("opco", None, 240_000, 0, 240_000),
        ("company", 10, 40_000, 0, 40_000),
        ("company", 20, 20_000, 0, 20_000),
    ]
    assert group_amount(pricing, 1890, 2520) == 300_000  # exactly 75 %


def test_group_price_under_threshold_is_prorated():
    # 2 trainees × 14 h, 14 h done (50 % < 75 %): 3 000 × 840/1680 = 1 500,00 €; OPCO 100 % funded.
    pricing = Pricing("group", group_price_cents=300_000, group_threshold_pct=75)
    result = drafts([trainee(1, funded=100_000), trainee(2, funded=100_000, done=0)], pricing)
    assert amounts(result) == [("opco", None, 150_000, 0, 150_000)]
    assert "non atteint" in result[0].lines[0].label


def test_dedit_goes_to_the_company_never_to_the_opco():
    # Late cancellation and unjustified absence, dédit 30 % of 1 000 € → 300,00 € each, no VAT (hors champ),
    # nothing to the OPCO for them; the trainee who came is invoiced as usual (VAT 20 %).
    people = [
        trainee(1, rate="0.20"),
        trainee(2, planned=0, done=0, dedit_rate_pct=30, dedit_reason="late_cancellation", rate="0.20"),
        trainee(3, done=0, dedit_rate_pct=30, dedit_reason="absent", rate="0.20"),
    ]
    result = drafts(people, PER_TRAINEE)
    assert amounts(result) == [
        ("opco", None, 80_000, 16_000, 96_000),
        ("company", 10, 80_000, 4_000, 84_000),
    ]
    company_lines = result[1].lines
    assert [(line.kind, line.amount_ht_cents, line.vat_cents) for line in company_lines] == [
        ("training", 20_000, 4_000),
        ("dedit", 30_000, 0),
        ("dedit", 30_000, 0),
    ]
    assert all(line.kind == "training" for line in result[0].lines)


def test_fully_funded_and_nobody_came_gives_no_invoice():
    result = drafts([trainee(funded=100_000, done=0)], PER_TRAINEE)
    assert result == []
    # No dédit policy frozen (0 %): an unjustified absence costs nothing either.
    assert drafts([trainee(done=0, dedit_reason="absent")], PER_TRAINEE) == []
