"""The training organisation renews its Qualiopi certificate from its own area (issue 8, case 4)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import AuditEvent, Referencing, TrainingProvider
from marketplace.services import referencing_registry
from tests.web.pages import flashes, visible_text

TODAY = paris_today()
PDF = b"%PDF-1.4\n% certificat Qualiopi renouvele\n%%EOF\n"


@pytest.fixture
def provider(make):
    return make.provider(name="Forma Plus", qualiopi_expires_on=TODAY - timedelta(days=1))


@pytest.fixture
def signed_in(client, login, provider):
    login(client, provider.memberships[0].user)
    return client


def url(provider, path: str = "") -> str:
    return f"/of/{provider.slug}/qualiopi{path}"


def form(**changes) -> dict:
    data = {
        "qualiopi_certifier": "Bureau Veritas Certification",
        "qualiopi_number": "QUA-2026-0042",
        "qualiopi_categories": ["actions_formation", "vae"],
        "qualiopi_issued_on": (TODAY - timedelta(days=2)).isoformat(),
        "qualiopi_expires_on": (TODAY + timedelta(days=1000)).isoformat(),
        "file": (io.BytesIO(PDF), "Certificat Qualiopi 2026.pdf"),
    }
    data.update(changes)
    return data


def test_the_page_shows_the_lapsed_certificate_and_what_it_suspended(make, signed_in, provider):
    lapsed = make.referencing(make.action(make.opco("akto"), title="Gestes et postures"), provider)
    referencing_registry.suspend_expired(TODAY)
    db.session.commit()

    response = signed_in.get(url(provider))

    page = visible_text(response)
    assert response.status_code == 200
    assert "QUA-" in page and "plus valable pour les actions de formation" in page
    assert "1 référencement suspendu à l'expiration de votre certificat" in page
    assert "Gestes et postures" in page and db.session.get(Referencing, lapsed.id).status == "suspended"
    dashboard = signed_in.get(f"/of/{provider.slug}/")
    assert "Enregistrer votre certificat Qualiopi renouvelé" in visible_text(dashboard)


def test_saving_the_renewed_certificate_reactivates_and_keeps_the_pdf(make, signed_in, provider):
    akto = make.opco("akto")
    lapsed = make.referencing(make.action(akto, title="Gestes et postures"), provider)
    by_hand = make.referencing(make.action(akto, title="Bureautique"), provider)
    referencing_registry.change_referencing(by_hand, "suspend", None, reason="Plaintes répétées")
    referencing_registry.suspend_expired(TODAY)
    db.session.commit()

    response = signed_in.post(url(provider), data=form(), content_type="multipart/form-data")

    assert response.status_code == 303 and response.headers["Location"].endswith(url(provider))
    page = signed_in.get(response.headers["Location"])
    assert flashes(page) == [
        "Votre certificat Qualiopi renouvelé est enregistré. 1 référencement suspendu à l'expiration de l'ancien "
        "certificat est réactivé ; les OPCO concernés sont prévenus."
    ]
    db.session.expire_all()
    assert db.session.get(Referencing, lapsed.id).status == "active"
    assert db.session.get(Referencing, by_hand.id).status == "suspended"
    renewed = db.session.get(TrainingProvider, provider.id)
    assert (
        renewed.qualiopi_number == "QUA-2026-0042" and renewed.qualiopi_categories == "actions_formation vae"
    )
    assert renewed.qualiopi_expires_on == TODAY + timedelta(days=1000)
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "provider.qualiopi_renewed")
        )
        == 1
    )
    document = signed_in.get(url(provider, "/certificat"))
    assert document.status_code == 200 and document.data == PDF
    assert document.mimetype == "application/pdf"
    assert "Certificat Qualiopi 2026.pdf" in document.headers["Content-Disposition"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"file": None}, "Joignez le certificat Qualiopi au format PDF."),
        (
            {"file": (io.BytesIO(b"PK\x03\x04 docx"), "certificat.docx")},
            "Le certificat doit être un fichier PDF.",
        ),
        ({"file": (io.BytesIO(b"<html>"), "certificat.pdf")}, "ne correspond pas à un fichier PDF"),
        (
            {
                "qualiopi_expires_on": (TODAY - timedelta(days=3)).isoformat(),
                "qualiopi_issued_on": (TODAY - timedelta(days=300)).isoformat(),
            },
            "Ce certificat Qualiopi a déjà expiré",
        ),
        ({"qualiopi_expires_on": (TODAY + timedelta(days=4 * 365)).isoformat()}, "valable 3 ans au plus"),
        ({"qualiopi_expires_on": "9999-12-31"}, "Indiquez une date valide (jj/mm/aaaa)."),
        ({"qualiopi_issued_on": "pas une date"}, "Indiquez une date valide (jj/mm/aaaa)."),
        ({"qualiopi_categories": ["inconnue"]}, "Choisissez des catégories dans la liste."),
        ({"qualiopi_number": "x"}, "Le numéro du certificat Qualiopi doit comporter"),
        # Control characters are refused for every request before any view (web/inputs.py): 400.
        ({"qualiopi_number": "x\x00y"}, "contient des caractères non autorisés"),
    ],
)
def test_an_invalid_certificate_is_refused_at_its_field(signed_in, provider, changes, message):
    data = {k: v for k, v in form(**changes).items() if v is not None}

    response = signed_in.post(url(provider), data=data, content_type="multipart/form-data")

    assert response.status_code == (400 if any("\x00" in str(v) for v in changes.values()) else 422)
    assert message in visible_text(response)
    db.session.expire_all()
    assert db.session.get(TrainingProvider, provider.id).qualiopi_expires_on == TODAY - timedelta(days=1)


def test_only_an_administrator_renews_the_certificate(make, client, login, provider):
    planner = make.member(provider, make.user(), "planner").user
    login(client, planner)

    assert client.get(url(provider)).status_code == 403
    assert client.post(url(provider), data=form(), content_type="multipart/form-data").status_code == 403
    assert client.get(url(provider, "/certificat")).status_code == 404  # no PDF given yet


def test_the_company_sees_why_it_cannot_enrol_until_the_certificate_is_renewed(make, client, login, provider):
    """Case 3 then 4 as the users see them: the catalogue gives the reason, the renewal lifts it."""
    session = make.session(make.action(make.opco("akto"), title="Gestes et postures"), provider)
    referencing_registry.suspend_expired(TODAY)
    db.session.commit()
    company = make.company("akto", name="Nettoyage Clair")
    login(client, company.memberships[0].user)
    catalogue_page = f"/entreprise/{company.slug}/catalogue/sessions/{session.id}"

    page = visible_text(client.get(catalogue_page))
    assert "Votre entreprise ne peut pas inscrire de salarié sur cette session" in page
    assert (
        "Le référencement de Forma Plus sur cette action est suspendu par l'OPCO (Certificat Qualiopi expiré le "
        f"{TODAY - timedelta(days=1):%d/%m/%Y})"
    ) in page
    assert "/inscrire" not in client.get(catalogue_page).get_data(as_text=True)

    client.post("/deconnexion")
    login(client, provider.memberships[0].user)
    assert client.post(url(provider), data=form(), content_type="multipart/form-data").status_code == 303
    client.post("/deconnexion")
    login(client, company.memberships[0].user)

    page = client.get(catalogue_page).get_data(as_text=True)
    assert "Votre entreprise ne peut pas inscrire de salarié" not in page and "/inscrire" in page
