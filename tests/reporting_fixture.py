"""A small catalogue whose « Pilotage » figures are computed by hand (tests/web/test_reporting.py and the
browser test). Every amount is HT = TTC (training organisations exempt from VAT), funded at 100 %.

AKTO, two training organisations P1 and P2, two companies: C1 (5 employees, « <11 », first AKTO branch) with
e1 and e2, C2 (30 employees, « 11-49 », second AKTO branch) with e3, e4 and e5.

- A1 « Gestes et postures », campaign this year, theme 31, 1 000,00 € per trainee, 14 h (840 min).
- A2 « Bureautique », campaign last year, theme 32, 600,00 € per trainee, 7 h (420 min).

Sessions:
- S1: A1 by P1 in Auvergne-Rhône-Alpes (84), delivered 40 days ago, capacity 10. Closed: e1 attended 840,
  e2 partially 420, e3 absent 0.
- S2: A2 by P2 in Île-de-France (11), delivered 100 days ago, capacity 10. Closed: e4 attended 420, e1
  attended 420 (e1 again: one trainee, two inscriptions).
- S3: A1 by P1 in 84, cancelled, nobody.
- S4: A1 by P2 in Bretagne (53), in 30 days, e5 confirmed.

Invoices to AKTO: I1 on S1 paid, lines e1 1 000,00, e2 500,00, e3 0 → 1 500,00; I2 on S2 validated, lines e4
600,00, e1 600,00 → 1 200,00, with a partial credit note of 200,00 (a line naming no trainee); I3 on S2
rejected, 999,99 (not counted); a company invoice on S1 (not the OPCO's, not counted).

ATLAS (another OPCO in the same database) has its own delivered session, trainee and paid invoice: never
counted in AKTO's figures.

Hand-computed totals (AKTO, no filter):
- inscriptions 3 + 2 + 1 = 6; stagiaires e1..e5 = 5; closed 5;
- planned 3 × 840 + 2 × 420 = 3 360 min (56 h); done 840 + 420 + 0 + 420 + 420 = 2 100 min (35 h);
  realisation 2 100 / 3 360 = 62,5 %;
- sessions held 2 (S1, S2), cancelled 1 (S3); fill (3 + 2) / (10 + 10) = 25,0 %;
- committed 3 × 100 000 + 2 × 60 000 + 100 000 = 520 000 cents;
- realised 150 000 + 120 000 − 20 000 = 250 000 cents; paid 150 000 cents;
- cost per trainee-hour HT 250 000 / 35 h = 7 142,86 → 7 143 cents (71,43 €).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Invoice, InvoiceLine
from tests.delivered import delivered_session
from tests.opco_invoices import issued_invoice


@dataclass
class Catalogue:
    akto: object
    atlas: object
    p1: object
    p2: object
    c1: object
    c2: object
    a1: object
    a2: object
    s1: object
    s2: object
    s3: object
    s4: object
    employees: dict
    invoices: dict


def build(make) -> Catalogue:
    akto = make.opco("akto")
    atlas = make.opco("atlas")
    this_year = paris_today().year
    p1 = make.provider(name="Formations du Rhône")
    p2 = make.provider(name="Institut Bureautique de Paris")
    c1 = make.company(name="Boulangerie Martin", headcount=5, idcc=akto.idcc_codes[0])
    c2 = make.company(name="Nettoyage Confluence", headcount=30, idcc=akto.idcc_codes[1])
    e1 = make.employee(c1, last_name="Garcia", first_name="Inès")
    e2 = make.employee(c1, last_name="Martin", first_name="Hugo")
    e3 = make.employee(c2, last_name="Bernard", first_name="Léa")
    e4 = make.employee(c2, last_name="Petit", first_name="Noé")
    e5 = make.employee(c2, last_name="Robert", first_name="Zoé")
    a1 = make.action(
        akto, title="Gestes et postures", price_cents=100_000, duration_hours="14", theme_code="31"
    )
    a2 = make.action(
        akto,
        title="Bureautique",
        price_cents=60_000,
        duration_hours="7",
        theme_code="32",
        campaign_year=this_year - 1,
    )
    s1, (en1, en2, en3) = delivered_session(
        make,
        [(c1, e1, "attended", 840), (c1, e2, "partially_attended", 420), (c2, e3, "absent", 0)],
        action=a1,
        provider=p1,
        days_ago=40,
    )
    s2, (en4, en1b) = delivered_session(
        make, [(c2, e4, "attended", 420), (c1, e1, "attended", 420)], action=a2, provider=p2, days_ago=100
    )
    s2.region_code = "11"
    s3 = make.session(a1, p1, start=paris_today() - timedelta(days=20), status="cancelled")
    s4 = make.session(a1, p2, start=paris_today() + timedelta(days=30))
    s4.region_code = "53"
    db.session.commit()
    make.enrolment(s4, c2, e5)

    i1 = issued_invoice(
        s1,
        [en1, en2, en3],
        status="paid",
        line_changes={1: {"amount_ht_cents": 50_000}, 2: {"amount_ht_cents": 0}},
    )
    i2 = issued_invoice(s2, [en4, en1b], status="validated")
    i3 = issued_invoice(s2, [en4], status="rejected", line_changes={0: {"amount_ht_cents": 99_999}})
    issued_invoice(s1, [en1], status="issued", payer="company", company_id=c1.id)
    note = Invoice(
        kind="credit_note",
        payer="opco",
        status="issued",
        provider_id=s2.provider_id,
        opco_id=akto.id,
        session_id=s2.id,
        credited_invoice_id=i2.id,
        number="A-2026-000001",
        year=2026,
        sequence=1,
        issued_on=paris_today() - timedelta(days=1),
        total_ht_cents=20_000,
        vat_cents=0,
        total_ttc_cents=20_000,
        seller_name=s2.provider.name,
        lines=[
            InvoiceLine(
                position=1,
                kind="training",
                label="Avoir partiel",
                quantity=Decimal(1),
                unit="forfait",
                unit_price_cents=20_000,
                amount_ht_cents=20_000,
            )
        ],
    )
    db.session.add(note)
    db.session.commit()

    # Another OPCO's catalogue in the same database: never counted for AKTO.
    foreign_company = make.company("atlas", name="Société Atlas", headcount=5)
    foreign_employee = make.employee(foreign_company, last_name="Étranger", first_name="Jean")
    foreign_action = make.action(atlas, title="Action ATLAS", price_cents=500_000, duration_hours="14")
    foreign_session, foreign_enrolments = delivered_session(
        make,
        [(foreign_company, foreign_employee, "attended", 840)],
        action=foreign_action,
        provider=make.provider(name="Organisme ATLAS"),
        opco_code="atlas",
    )
    issued_invoice(foreign_session, foreign_enrolments, status="paid")
    return Catalogue(
        akto=akto,
        atlas=atlas,
        p1=p1,
        p2=p2,
        c1=c1,
        c2=c2,
        a1=a1,
        a2=a2,
        s1=s1,
        s2=s2,
        s3=s3,
        s4=s4,
        employees={"e1": e1, "e2": e2, "e3": e3, "e4": e4, "e5": e5},
        invoices={"i1": i1, "i2": i2, "i3": i3, "note": note},
    )
