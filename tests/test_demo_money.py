"""The demo's invoices: the delivered sessions invoiced (OPCO and companies), issued, and a credit note."""

from sqlalchemy import select

from marketplace.models import Invoice


def test_seed_demo_issues_invoices_and_a_credit_note(cli, db_session):
    result = cli("seed-demo")
    assert result.exit_code == 0, result.output
    rows = db_session.scalars(select(Invoice).order_by(Invoice.sequence)).all()
    assert {i.payer for i in rows if i.kind == "invoice"} == {"opco", "company"}
    assert all(i.number and i.sha256 and i.status != "draft" for i in rows)
    for provider_id in {i.provider_id for i in rows}:  # numbered per organisation (and year), no gap
        numbers = [i.sequence for i in rows if i.provider_id == provider_id]
        assert numbers == list(range(1, len(numbers) + 1))
    [note] = [i for i in rows if i.kind == "credit_note"]
    assert note.number.startswith("A-") and note.total_ht_cents == 1000
    # One company invoice paid by card (recorded, with its receipt), another awaiting payment.
    company = [i for i in rows if i.kind == "invoice" and i.payer == "company"]
    paid = [i for i in company if i.status == "paid"]
    assert len(paid) == 1 and paid[0].payment_means == "card" and paid[0].receipt_sha256
    assert any(i.status == "issued" for i in company)
