"""Downloading the certificates (OF, employer, OPCO, trainee link), the progress fragment, the OPCO's control
of service fait (realisation page, correction request) and its dashboard count."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent, Document, DocumentKind, Enrolment, TrainingSession
from marketplace.services import certificates
from tests.delivered import delivered_session
from tests.web.pages import visible_text


def _text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def _setup(make, *, generate: bool = True):
    """AKTO funds a session of « Formations du Rhône »; two companies each sent one trainee."""
    akto = make.opco("akto")
    provider_admin = make.user()
    provider = make.provider(admin=provider_admin, name="Formations du Rhône")
    first_admin, second_admin = make.user(), make.user()
    first = make.company(admin=first_admin, name="Boulangerie Dupain")
    second = make.company(admin=second_admin, name="Menuiserie Copeau")
    jean = make.employee(first, last_name="Dupont", first_name="Jean", email="jean.dupont@exemple.test")
    lea = make.employee(second, last_name="Martin", first_name="Léa", email="lea.martin@exemple.test")
    session, (jean_e, lea_e) = delivered_session(
        make,
        [(first, jean, "attended", 840), (second, lea, "partially_attended", 630)],
        action=make.action(akto, title="Sécurité au travail"),
        provider=provider,
    )
    if generate:
        certificates.generate_for_session(session.id)
    opco_admin = make.user()
    make.member(akto, opco_admin, "admin")
    return {
        "akto": akto,
        "session": session,
        "provider": provider,
        "provider_admin": provider_admin,
        "first": first,
        "first_admin": first_admin,
        "second": second,
        "second_admin": second_admin,
        "jean": jean_e,
        "lea": lea_e,
        "opco_admin": opco_admin,
    }


def _as(app, login, user):
    """A browser signed in as ``user`` (one per person: signing in twice on one browser redirects)."""
    client = app.test_client()
    login(client, user)
    return client


def _doc(enrolment, kind=DocumentKind.CERTIFICATE) -> Document:
    return db.session.scalar(
        select(Document).where(Document.enrolment_id == enrolment.id, Document.kind == kind)
    )


def test_each_reader_downloads_through_its_own_space_and_no_one_else_can(app, client, login, make):
    w = _setup(make)
    jean_certificate = _doc(w["jean"])

    client = _as(app, login, w["first_admin"])
    response = client.get(f"/entreprise/{w['first'].slug}/documents-de-formation/{jean_certificate.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "private" in response.headers["Cache-Control"]
    text = _text(response.data)
    assert "DUPONT Jean" in text and "14 h" in text and "Boulangerie Dupain" in text
    listing = visible_text(client.get(f"/entreprise/{w['first'].slug}/documents-de-formation"))
    assert "DUPONT Jean" in listing and "Certificat de réalisation" in listing
    assert "MARTIN" not in listing, "another company's employee is never listed"

    # Another company (same OPCO), even under its own slug: 404.
    client = _as(app, login, w["second_admin"])
    response = client.get(f"/entreprise/{w['second'].slug}/documents-de-formation/{jean_certificate.id}")
    assert response.status_code == 404
    assert (
        client.get(f"/entreprise/{w['first'].slug}/documents-de-formation/{jean_certificate.id}").status_code
        == 404
    )

    # The training organisation that issued it, and the OPCO funding the session.
    client = _as(app, login, w["provider_admin"])
    response = client.get(f"/of/{w['provider'].slug}/documents-de-formation/{jean_certificate.id}")
    assert response.status_code == 200 and "DUPONT Jean" in _text(response.data)
    client = _as(app, login, w["opco_admin"])
    response = client.get(f"/opco/{w['akto'].slug}/documents-de-formation/{jean_certificate.id}")
    assert response.status_code == 200

    # Another training organisation, another OPCO: 404.
    other_of_admin = make.user()
    other_of = make.provider(admin=other_of_admin)
    client = _as(app, login, other_of_admin)
    assert client.get(f"/of/{other_of.slug}/documents-de-formation/{jean_certificate.id}").status_code == 404
    atlas_admin = make.user()
    atlas = make.opco("atlas", admin=atlas_admin)
    client = _as(app, login, atlas_admin)
    assert client.get(f"/opco/{atlas.slug}/documents-de-formation/{jean_certificate.id}").status_code == 404
    assert client.get(f"/opco/{atlas.slug}/service-fait/sessions/{w['session'].id}").status_code == 404


def test_members_without_the_permission_get_403(app, client, login, make):
    w = _setup(make)
    jean_certificate = _doc(w["jean"])
    viewer = make.user()
    make.member(w["first"], viewer, "viewer")
    client = _as(app, login, viewer)
    assert (
        client.get(f"/entreprise/{w['first'].slug}/documents-de-formation/{jean_certificate.id}").status_code
        == 403
    )
    catalogue_manager = make.user()
    make.member(w["akto"], catalogue_manager, "catalogue_manager")
    client = _as(app, login, catalogue_manager)
    assert client.get(f"/opco/{w['akto'].slug}/service-fait").status_code == 403
    assert (
        client.get(f"/opco/{w['akto'].slug}/documents-de-formation/{jean_certificate.id}").status_code == 403
    )


def test_progress_fragment_polls_until_every_document_is_issued(app, client, login, make):
    w = _setup(make, generate=False)
    client = _as(app, login, w["provider_admin"])
    url = f"/of/{w['provider'].slug}/sessions/{w['session'].id}/documents-de-formation/progression"
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "0 / 4" in visible_text(response) and 'hx-trigger="every 2s"' in html

    detail = client.get(f"/of/{w['provider'].slug}/sessions/{w['session'].id}").get_data(as_text=True)
    assert "/documents-de-formation/progression" in detail, "the session page loads the progress"

    certificates.generate_for_session(w["session"].id)
    response = client.get(url, headers={"HX-Request": "true"})
    assert "4 / 4" in visible_text(response)
    assert "hx-trigger" not in response.get_data(as_text=True), "finished: polling stops"
    page = visible_text(
        client.get(f"/of/{w['provider'].slug}/sessions/{w['session'].id}/documents-de-formation")
    )
    assert "DUPONT Jean" in page and "MARTIN Léa" in page and "Attestation de fin de formation" in page


def test_the_trainee_link_opens_their_documents_and_a_wrong_token_is_404(app, client, make, outbox):
    w = _setup(make)
    [message] = [m for m in outbox("jean.dupont@exemple.test") if m.template == "certificates_trainee"]
    path = re.search(r"https?://[^/]+(/stagiaire/documents/\S+)", message.body_text).group(1)

    page = client.get(path)
    assert page.status_code == 200 and "Sécurité au travail" in visible_text(page)
    links = re.findall(r'href="(/stagiaire/documents/[^"]+/\d+)"', page.get_data(as_text=True))
    assert len(links) == 2
    response = client.get(links[0])
    assert response.status_code == 200 and "DUPONT Jean" in _text(response.data)

    assert client.get("/stagiaire/documents/jeton-invente").status_code == 404
    assert client.get(links[0].replace(path.rsplit("/", 1)[-1], "jeton-invente")).status_code == 404
    lea_certificate = _doc(w["lea"])
    assert client.get(f"{path}/{lea_certificate.id}").status_code == 404, "another trainee's document"


def test_opco_sees_awaiting_sessions_on_its_dashboard_and_controls_the_realisation(app, client, login, make):
    w = _setup(make)
    waiting, _ = delivered_session(
        make,
        [(w["first"], None, "attended", 840)],
        action=make.action(w["akto"], title="Gestes et postures"),
        status="completed",
        closed=False,
    )
    client = _as(app, login, w["opco_admin"])
    dashboard = visible_text(client.get(f"/opco/{w['akto'].slug}/"))
    assert "1 session en attente du service fait" in dashboard
    awaiting = visible_text(client.get(f"/opco/{w['akto'].slug}/service-fait"))
    assert "Gestes et postures" in awaiting and "Sécurité au travail" not in awaiting
    closed = visible_text(client.get(f"/opco/{w['akto'].slug}/service-fait?statut=cloturees"))
    assert "Sécurité au travail" in closed

    page = visible_text(client.get(f"/opco/{w['akto'].slug}/service-fait/sessions/{w['session'].id}"))
    assert "DUPONT Jean" in page and "MARTIN Léa" in page
    assert "24 h 30 réalisées sur 28 h prévues" in page
    assert "3 h 30" in page, "Léa's absence"
    assert "Réalisée (partielle)" in page and "Certificat de réalisation" in page
    assert "Demander une correction" in page


def test_correction_request_needs_a_reason_reopens_the_session_and_tells_the_of(
    app, client, login, make, outbox
):
    w = _setup(make)
    of_planner = make.user(email="planning@of.test")
    make.member(w["provider"], of_planner, "planner")
    client = _as(app, login, w["opco_admin"])
    url = f"/opco/{w['akto'].slug}/service-fait/sessions/{w['session'].id}/correction"
    assert client.get(url).status_code == 200

    response = client.post(url, data={"reason": ""})
    assert response.status_code == 422
    assert db.session.get(TrainingSession, w["session"].id).status == "delivered"

    response = client.post(url, data={"reason": "Feuille du 2e jour non signée par le formateur."})
    assert response.status_code == 303
    session = db.session.get(TrainingSession, w["session"].id, populate_existing=True)
    assert session.status == "completed" and session.correction_reason.startswith("Feuille du 2e jour")
    statuses = db.session.scalars(
        select(Enrolment.status)
        .where(Enrolment.session_id == session.id)
        .execution_options(populate_existing=True)
    ).all()
    assert statuses == ["in_training", "in_training"]
    [mail] = [m for m in outbox("planning@of.test") if m.template == "service_fait_correction"]
    assert "Feuille du 2e jour non signée" in mail.body_text
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "session.correction_requested", AuditEvent.organisation_id == w["akto"].id
        )
    )
    assert event is not None and event.actor_id == w["opco_admin"].id

    # Nothing to correct any more: refused with the reason at the top.
    response = client.post(url, data={"reason": "Encore une fois."})
    assert response.status_code == 422
    dashboard = visible_text(client.get(f"/opco/{w['akto'].slug}/"))
    assert "1 session en attente du service fait" in dashboard


def test_the_trainee_files_a_complaint_from_the_documents_link(app, client, make, outbox):
    """The documents link outlives the questionnaire's: the trainee can still complain there, once checked."""
    from marketplace.models import Complaint

    w = _setup(make)
    [message] = [m for m in outbox("jean.dupont@exemple.test") if m.template == "certificates_trainee"]
    path = re.search(r"https?://[^/]+(/stagiaire/documents/\S+)", message.body_text).group(1)
    assert "Déposer une réclamation" in visible_text(client.get(path))
    refused = client.post(f"{path}/reclamation", data={"subject": " ", "description": ""})
    assert refused.status_code == 422
    shown = visible_text(refused)
    assert "Indiquez l'objet de la réclamation." in shown and "Décrivez la réclamation." in shown
    assert db.session.scalar(select(Complaint.id)) is None
    done = client.post(
        f"{path}/reclamation", data={"subject": "Certificat", "description": "Mes heures sont fausses."}
    )
    assert done.status_code == 303
    complaint = db.session.scalar(select(Complaint))
    assert (complaint.filer, complaint.filer_email) == ("trainee", "jean.dupont@exemple.test")
    assert complaint.provider_id == w["provider"].id and complaint.company_id is None
    assert client.post("/stagiaire/documents/jeton-invente/reclamation", data={}).status_code == 404
