"""In Chromium: the training organisation opens today's half-day, a trainee opens their link on a phone-sized
screen (390×844), draws a signature on the canvas and sends it, sees the confirmation; the trainer then sees
the signature and attests the half-day, the organisation closes the session (service fait) and the employer
downloads the trainee's certificat de réalisation."""

from __future__ import annotations

import io
from datetime import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Attendance, HalfDayAttestation, SessionStatus
from tests.factories import DEFAULT_PASSWORD

SCREENSHOT = "/tmp/browser-attendance-phone.png"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()


@pytest.mark.browser
def test_a_trainee_signs_on_a_phone_from_the_link_and_the_trainer_attests(
    app, live_server, page, new_context, make, monkeypatch
):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page.set_default_timeout(30_000)
    admin = make.user(email="of@exemple.test", full_name="Claire Formatrice")
    provider = make.provider(admin=admin, name="Formations du Rhône")
    action = make.action(make.opco("akto"), title="Gestes et postures", duration_hours="3.5")
    session = make.session(action, provider, status="open")
    company = make.company(admin=make.user(email="rh@exemple.test"), name="Nettoyage Confluence")
    make.enrolment(session, company, make.employee(company, last_name="Garcia", first_name="Inès"))
    slot = session.slots[0]
    # Today's half-day, from midnight so that the test runs at any hour.
    slot.day, slot.start_time, slot.end_time = paris_today(), time(0, 0), time(12, 30)
    session.start_date = session.end_date = paris_today()
    session.status = SessionStatus.CONFIRMED
    db.session.commit()

    # --- The organisation opens today's half-day -------------------------------------------------------
    sign_in(page, live_server, "of@exemple.test")
    page.goto(f"{live_server}/of/{provider.slug}/sessions/{session.id}/emargement/{slot.id}")
    page.get_by_role("button", name="Ouvrir la demi-journée").click()
    expect(page.get_by_text("La demi-journée est ouverte")).to_be_visible()
    row = page.locator("tr[data-trainee='GARCIA Inès']")
    row.get_by_text("Lien et QR code").click()
    link = row.get_by_label("Lien personnel de GARCIA Inès").input_value()
    expect(row.get_by_role("img", name="QR code de signature de GARCIA Inès")).to_be_visible()
    page.screenshot(path="/tmp/browser-attendance-half-day.png", full_page=True)

    # --- The trainee signs on a phone ---------------------------------------------------------------------
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.set_default_timeout(30_000)
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Émargement")
    expect(phone.get_by_text("GARCIA Inès")).to_be_visible()
    canvas = phone.locator("canvas")
    box = canvas.bounding_box()
    assert box["width"] <= 390  # fits the phone's width
    phone.mouse.move(box["x"] + 30, box["y"] + box["height"] / 2)
    phone.mouse.down()
    for step in range(1, 12):
        phone.mouse.move(box["x"] + 30 + step * 25, box["y"] + box["height"] / 2 + (15 if step % 2 else -15))
    phone.mouse.up()
    phone.get_by_role("button", name="Signer ma présence").click()
    expect(phone.get_by_text("Votre présence est enregistrée")).to_be_visible()
    expect(phone.get_by_text("Vous avez signé cette demi-journée")).to_be_visible()
    phone.screenshot(path=SCREENSHOT, full_page=True)
    signed = db.session.scalar(select(Attendance))
    db.session.refresh(signed)
    assert signed.signature_png.startswith(b"\x89PNG") and signed.sign_method == "link"

    # --- The trainer sees the signature and attests ------------------------------------------------------
    page.reload()
    expect(page.locator("tr[data-trainee='GARCIA Inès']")).to_contain_text("Signé")
    page.get_by_label("J'atteste que les présences ci-dessus sont exactes").check()
    page.get_by_role("button", name="Signer la demi-journée").click()
    expect(page.get_by_text("La demi-journée est attestée et verrouillée")).to_be_visible()
    record = db.session.scalar(select(HalfDayAttestation))
    db.session.refresh(record)
    assert record.is_locked and record.trainer_name == "Claire Formatrice"
    page.goto(f"{live_server}/of/{provider.slug}/sessions/{session.id}/emargement")
    expect(page.locator("table.attendance-grid")).to_contain_text("Présent(e)")
    page.screenshot(path="/tmp/browser-attendance-overview.png", full_page=True)

    # --- The organisation closes the session (service fait) ----------------------------------------------
    page.get_by_role("button", name="Clôturer la session").click()
    expect(page.get_by_text("La session est clôturée (service fait)")).to_be_visible()
    expect(page.get_by_role("link", name="Télécharger la feuille d'émargement (PDF)")).to_be_visible()
    expect(page.locator("table.attendance-grid")).to_contain_text("Clôturée — Réalisée (totale)")

    # --- The employer downloads the certificate of its employee ------------------------------------------
    hr = new_context().new_page()
    hr.set_default_timeout(30_000)
    sign_in(hr, live_server, "rh@exemple.test")
    hr.goto(f"{live_server}/entreprise/{company.slug}/documents-de-formation")
    expect(hr.get_by_role("heading", level=1)).to_have_text("Documents de formation de vos salariés")
    with hr.expect_download() as download_info:
        hr.get_by_role("link", name="Certificat de réalisation de GARCIA Inès").click()
    data = Path(download_info.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "GARCIA" in text and "Inès" in text
    assert "Gestes et postures" in text and "Nettoyage Confluence" in text
    assert provider.nda in text.replace(" ", "")
