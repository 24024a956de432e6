"""Small links of the money trail: the « Préparer les factures » button on a delivered session's page, and
the budget envelope an action draws on, shown read-only on the OPCO's action page."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Invoice
from marketplace.services import envelopes
from tests.delivered import delivered_session
from tests.web.pages import visible_text


def test_a_delivered_session_page_prepares_its_invoices(client, login, make):
    admin = make.user()
    provider = make.provider(admin=admin)
    company = make.company()
    session, _ = delivered_session(make, [(company, None, "attended", 840)], provider=provider)
    login(client, admin)
    page = visible_text(client.get(f"/of/{provider.slug}/sessions/{session.id}"))
    assert "Facturation" in page and "Préparer les factures" in page
    prepared = client.post(f"/of/{provider.slug}/sessions/{session.id}/factures/preparer")
    assert prepared.status_code == 303
    assert {i.payer for i in db.session.scalars(select(Invoice))} >= {"opco"}

    trainer = make.user()
    make.member(provider, trainer, "trainer")  # takes attendance, does not invoice
    other = client.application.test_client()
    login(other, trainer)
    page = visible_text(other.get(f"/of/{provider.slug}/sessions/{session.id}"))
    assert "Certificats et attestations" in page and "Préparer les factures" not in page


def test_the_action_page_shows_its_envelope_read_only(client, login, make):
    akto = make.opco("akto")
    admin = make.user()
    make.member(akto, admin, "admin")
    action = make.action(akto, title="Gestes et postures")
    login(client, admin)
    page = visible_text(client.get(f"/opco/{akto.slug}/catalogue/{action.id}"))
    assert "Aucune enveloppe" in page
    envelope = envelopes.create_envelope(
        akto,
        envelopes.EnvelopeInput(label="Fonds légaux 2026", year=2026, fund="legal", allotted="10000"),
        admin,
    )
    envelopes.attach_action(akto, action.id, envelope.id, admin)
    envelope.committed_cents, envelope.realised_cents, envelope.paid_cents = 850_000, 400_000, 100_000
    db.session.commit()
    page = visible_text(client.get(f"/opco/{akto.slug}/catalogue/{action.id}"))
    assert "Enveloppe budgétaire" in page and "« Fonds légaux 2026 »" in page
    for figure in ("10 000,00 €", "8 500,00 € (85 %)", "4 000,00 € (40 %)", "1 000,00 € (10 %)"):
        assert figure in page.replace("\u202f", " ").replace("\u00a0", " "), figure
