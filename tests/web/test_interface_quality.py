"""What a reader notices in the interface: French wording (plural, elision, one-day sessions, French order),
the activity log fully in French with filters per kind of organisation, every form error at once, status
badges, the home page's promises, the address in email links and the too-long URL page."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import dates_fr, of_name, paris_today, plural, sorted_fr
from marketplace.models import AuditEvent, Organisation, User
from marketplace.services import audit, organisations
from marketplace.services.audit_display import kind_can_have
from marketplace.services.errors import InvalidForm
from tests.web.pages import text, visible_text
from tests.web.test_signup import company_form

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-marketplace-2026"


# --- Wording helpers ---------------------------------------------------------------------------------------


def test_plural_agrees_with_the_count():
    assert plural(7, "confirmée") == "7 confirmées"
    assert plural(1, "confirmée") == "1 confirmée"
    assert plural(0, "inscription") == "0 inscription"  # French: 0 takes the singular
    assert plural(2, "place disponible") == "2 places disponibles"
    assert plural(3, "journal") == "3 journaux"
    assert plural(2, "bureau") == "2 bureaux"
    assert plural(1234, "salarié") == "1\u202f234 salariés"
    assert plural(2, "en attente", "en attente") == "2 en attente"
    assert plural(5, "place proposée", with_count=False) == "places proposées"


def test_de_is_elided_before_a_vowel():
    assert of_name("Inès") == "d'Inès"
    assert of_name("AKTO") == "d'AKTO"
    assert of_name("Élodie") == "d'Élodie"
    assert of_name("OPCO EP") == "d'OPCO EP"
    assert of_name("Paul") == "de Paul"
    assert of_name("Hugo") == "de Hugo"  # an initial h may be aspirated: no elision


def test_a_one_day_session_reads_le_and_a_longer_one_du_au():
    assert dates_fr(date(2027, 1, 11), date(2027, 1, 11)) == "le 11/01/2027"
    assert dates_fr(date(2027, 1, 11), date(2027, 1, 12)) == "du 11/01/2027 au 12/01/2027"


def test_french_order_ignores_accents_and_case():
    themes = ["Services aux personnes", "Échanges et gestion", "Communication et information", "Zoologie"]
    assert sorted_fr(themes) == [
        "Communication et information",
        "Échanges et gestion",
        "Services aux personnes",
        "Zoologie",
    ]
    assert sorted_fr(["Occitanie", "Île-de-France", "Hauts-de-France"]) == [
        "Hauts-de-France",
        "Île-de-France",
        "Occitanie",
    ]


def test_the_catalogue_lists_themes_in_french_order(client, login, make):
    admin = make.user()
    company = make.company(admin=admin)
    login(client, admin)
    page = text(client.get(f"/entreprise/{company.slug}/catalogue"))
    select_html = re.search(r'<select[^>]*id="theme".*?</select>', page, re.S).group(0)
    labels = re.findall(r"<option[^>]*>([^<]+)</option>", select_html)[1:]
    assert "Échanges et gestion" in labels
    assert labels == sorted_fr(labels)
    assert labels.index("Échanges et gestion") < labels.index("Services aux personnes")
    regions = re.findall(
        r"<option[^>]*>([^<]+)</option>",
        re.search(r'<select[^>]*id="region".*?</select>', page, re.S).group(0),
    )[1:]
    assert regions.index("Île-de-France") < regions.index("Normandie")


# --- One-day sessions, status badges, elision on pages -------------------------------------------------------


def test_a_one_day_session_reads_le_on_the_catalogue_and_the_dashboards(client, login, make):
    opco_admin = make.user()
    opco = make.opco("akto", admin=opco_admin)
    provider = make.provider()
    action = make.action(opco, title="Excel en une journée", duration_hours="7")
    start = paris_today() + timedelta(days=40)
    session = make.session(action, provider, start=start, days=1)
    day = start.strftime("%d/%m/%Y")
    admin = make.user()
    company = make.company(admin=admin)
    make.enrolment(session, company, actor=admin)

    login(client, admin)
    catalogue = visible_text(client.get(f"/entreprise/{company.slug}/catalogue"))
    assert f"le {day}" in catalogue and f"du {day} au {day}" not in catalogue
    dashboard = visible_text(client.get(f"/entreprise/{company.slug}/"))
    assert f"le {day}" in dashboard and f"{day} – {day}" not in dashboard
    client.post("/deconnexion")
    login(client, opco_admin)
    board = visible_text(client.get(f"/opco/{opco.slug}/"))
    assert f"le {day}" in board and f"{day} – {day}" not in board


def test_enrolment_states_are_badges_in_the_company_list(client, login, make):
    admin = make.user()
    company = make.company(admin=admin)
    make.enrolment(make.session(), company, actor=admin)
    login(client, admin)
    page = text(client.get(f"/entreprise/{company.slug}/inscriptions"))
    assert '<span class="badge badge-ok">Confirmée</span>' in page


def test_dashboard_counters_agree_with_their_number(client, login, make):
    admin = make.user()
    company = make.company(admin=admin)
    session = make.session(capacity_max=5)
    for _ in range(2):
        make.enrolment(session, company, actor=admin)
    login(client, admin)
    page = visible_text(client.get(f"/entreprise/{company.slug}/"))
    assert "2 inscriptions confirmées" in page
    assert "0 inscription en attente de validation de l'OPCO" in page
    assert "confirmée Voir" not in page


def test_names_starting_with_a_vowel_are_elided(client, login, make):
    admin = make.user()
    company = make.company(admin=admin, name="Entreprise Alpha")
    employee = make.employee(company, first_name="Inès", last_name="Garcia")
    login(client, admin)
    page = visible_text(client.get(f"/entreprise/{company.slug}/salaries/{employee.id}/modifier"))
    assert "la fiche d'Inès" in page or "fiche d'Inès" in page or "fiche de GARCIA" in page
    assert "de Inès" not in page
    profile = visible_text(client.get(f"/org/{company.slug}/profil"))
    assert "Fiche d'Entreprise Alpha" in profile and "de Entreprise" not in profile


# --- The activity log is French, with the events of the organisation's kind -------------------------------------


ENGLISH = re.compile(
    r"\b(title|published|first|provider|valid from|valid until|price|cents|candidates|kind|size|fields|"
    r"changed|before|after|from|to|status|reason|headcount|funding basis|certifier|issued on|expires on|"
    r"old start|new start|document id|tender id|lot id)\s:",
    re.I,
)


def _log_pages(client, org: Organisation) -> list[str]:
    pages, n = [], 1
    while True:
        page = visible_text(client.get(f"/org/{org.slug}/journal", query_string={"page": n}))
        pages.append(page.split("Adresse IP", 1)[-1])
        if "Page suivante" not in page:
            return pages
        n += 1


def _assert_french(details: str) -> None:
    # Addresses and file names are the people's own words.
    without_emails = re.sub(r"\S+@\S+|\S+\.(?:pdf|docx|xlsx|odt|csv)\b", "", details)
    assert not ENGLISH.findall(without_emails), ENGLISH.findall(without_emails)
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", without_emails)  # snake_case codes
    assert not re.findall(r"\b[a-z_]+\.[a-z_]+\b", without_emails)  # dotted event names
    assert not re.findall(r"\b(True|False|None)\b", without_emails)
    assert not re.findall(r"\b\d{4}-\d{2}-\d{2}\b", without_emails)  # ISO dates
    assert "centimes" not in without_emails and "Autre événement" not in without_emails


def test_the_demo_activity_logs_are_entirely_in_french(client, login, cli, db_session):
    assert cli("seed-demo").exit_code == 0
    for email in ("opco@demo.test", "entreprise@demo.test", "of@demo.test"):
        user = db.session.scalar(select(User).where(User.email == email))
        login(client, user, DEMO_PASSWORD)
        org = user.memberships[0].organisation
        for page in _log_pages(client, org):
            _assert_french(page)
        client.post("/deconnexion")


def test_recorded_changes_read_field_by_field_with_french_values(client, login, make):
    admin = make.user()
    opco = make.opco("akto", admin=admin)
    shapes = {
        "catalogue.provider_referenced": {
            "action": "AKTO-AC-2027-01",
            "provider": "Atelier Numérique",
            "valid_from": "2026-08-02",
            "valid_until": "2027-12-31",
            "price_cents": 78000,
        },
        "catalogue.action_updated": {
            "reference": "AKTO-AC-2027-01",
            "status": "published",
            "changed": ["title", "price_cents", "requires_approval"],
            "before": {"title": "Excel", "price_cents": 78000, "requires_approval": False},
            "after": {"title": "Excel avancé", "price_cents": 80000, "requires_approval": True},
        },
        "tender.question_answered": {"tender_id": 3, "published": True, "first": True},
        "tender.created": {"reference": "AKTO-AO-2027-01", "title": "Propreté", "lots": 2},
        "opco.settings_changed": {"funding_basis": ["ht", "ttc"]},
        "tender.scores_submitted": {"reference": "AKTO-AO-2027-01", "lot": 1, "provider": "Atelier"},
    }
    for action, data in shapes.items():
        audit.record(action, organisation_id=opco.id, actor=admin, data=data)
    db.session.commit()
    login(client, admin)
    page = _log_pages(client, opco)[0]
    _assert_french(page)
    assert "prix par stagiaire : 780,00 € HT" in page
    assert "début de validité : 02/08/2026" in page
    assert "intitulé : Excel → Excel avancé" in page
    assert "prix par stagiaire : 780,00 € HT → 800,00 € HT" in page
    assert "validation par l'OPCO : non → oui" in page
    assert "état : Publiée" in page
    assert "réponse publiée à tous : oui" in page
    assert "prise en charge calculée sur : prix HT → prix TTC" in page
    assert "Grille de notation envoyée" in page and "tender.scores_submitted" not in page


def test_every_recorded_event_has_a_french_label_and_fits_its_kind(cli, db_session):
    """Each event of the demo has a label, and the log's filter of its organisation's kind offers it."""
    assert cli("seed-demo").exit_code == 0
    rows = db.session.execute(
        select(AuditEvent.action, Organisation.kind).join(
            Organisation, AuditEvent.organisation_id == Organisation.id
        )
    ).all()
    assert rows
    for action, kind in set(rows):
        assert action in audit.ACTION_LABELS, action
        assert kind_can_have(kind, action), (kind, action)


def test_the_log_filter_offers_only_the_events_of_the_organisation_kind(client, login, make):
    admin = make.user()
    company = make.company(admin=admin)
    login(client, admin)
    page = text(client.get(f"/org/{company.slug}/journal"))
    options = re.search(r'<select[^>]*id="action".*?</select>', page, re.S).group(0)
    assert "Inscription demandée" in options and "Salarié ajouté au registre" in options
    for foreign in (
        "Appel d'offres publié",
        "Session créée",
        "Action collective publiée",
        "Grille de notation",
    ):
        assert foreign not in options, foreign
    labels = re.findall(r"<option[^>]*>([^<]+)</option>", options)[1:]
    assert labels == sorted_fr(labels)
    # A filter on an event the kind cannot have is ignored (the whole log is shown).
    assert (
        client.get(f"/org/{company.slug}/journal", query_string={"action": "tender.publish"}).status_code
        == 200
    )

    opco_admin = make.user()
    opco = make.opco("akto", admin=opco_admin)
    client.post("/deconnexion")
    login(client, opco_admin)
    options = re.search(
        r'<select[^>]*id="action".*?</select>', text(client.get(f"/org/{opco.slug}/journal")), re.S
    )
    assert "Appel d'offres publié" in options.group(0) and "Salarié ajouté au registre" not in options.group(
        0
    )

    provider_admin = make.user()
    provider = make.provider(admin=provider_admin)
    client.post("/deconnexion")
    login(client, provider_admin)
    options = re.search(
        r'<select[^>]*id="action".*?</select>', text(client.get(f"/org/{provider.slug}/journal")), re.S
    )
    assert "Session créée" in options.group(0) and "Action collective publiée" not in options.group(0)


# --- Every error of a form at once --------------------------------------------------------------------------


def test_sign_up_shows_the_password_rule_and_the_postal_code_together(client, make):
    make.opco("akto")
    response = client.post(
        "/inscription/entreprise",
        data=company_form(password="court", confirm="court", postal_code="750", siret="12345"),
    )
    assert response.status_code == 422
    page = visible_text(response)
    assert "Le mot de passe doit comporter au moins 12 caractères." in page
    assert "Le code postal doit comporter 5 chiffres." in page
    assert "SIRET" in page and "Le formulaire contient 3 erreurs" in page


def test_sign_up_shows_an_already_registered_siret_with_the_other_errors(client, make):
    taken = make.company().siret
    response = client.post(
        "/inscription/entreprise", data=company_form(password="court", confirm="court", siret=taken)
    )
    assert response.status_code == 422
    page = visible_text(response)
    assert "Le mot de passe doit comporter au moins 12 caractères." in page
    assert "Cet établissement (SIRET) est déjà inscrit sur la plateforme." in page


def test_the_company_service_refuses_every_wrong_field_at_once(make, db_session):
    make.opco("akto")
    taken = make.company().siret
    data = organisations.CompanyInput(
        name="X",
        siret=taken,
        ape_code="6202A",
        idcc="3043",
        headcount=12,
        region_code="",
        address="1",
        postal_code="7500",
        city="",
    )
    with pytest.raises(InvalidForm) as refused:
        organisations.create_company(data, make.user())
    assert set(refused.value.errors) >= {"name", "siret", "address", "postal_code", "city"}


# --- Home page, email links, too-long URL ---------------------------------------------------------------------


# What the home page promises, and the page of the platform that delivers it: a promise without its page fails.
PROMISES = {
    "convocations": "provider.convocation_preview",
    "émargement": "provider.attendance_overview",
    "certificats de réalisation": "company.training_documents",
    "service fait": "opco.control_sessions",
    "facturez": "provider.invoices",
    "réglez vos factures": "company.invoices",
    "par carte bancaire": "company.pay_invoice",
    "propre compte stripe": "provider.stripe_settings_page",
    "enveloppes budgétaires": "opco.budgets",
    "virement sepa": "opco.payment_batches",
    "appels d'offres": "opco.tenders",
    "reste à charge": "company.catalogue",
    "satisfaction de vos stagiaires": "provider.quality",
    "questionnaires à chaud et à froid": "opco.quality",
    "réclamation": "company.new_complaint",
    "historique des formations": "company.history",
    "bilan pédagogique et financier": "provider.figures",
    "exportez inscriptions": "org.exports",
    "pilotez votre catalogue": "opco.reporting",
}


def test_the_home_page_promises_only_what_exists(app, client):
    page = visible_text(client.get("/")).lower()
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    for promise, endpoint in PROMISES.items():
        assert promise in page, promise
        assert endpoint in endpoints, f"« {promise} » is promised but {endpoint} does not exist"


def _base_url_for(bind: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"BASE_URL", "BIND"}}
    if bind is not None:
        env["BIND"] = bind
    script = (
        'set -euo pipefail; eval "$(sed -n "/^BIND=/,/^export BASE_URL/p" scripts/run.sh)"; echo "$BASE_URL"'
    )
    return subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_email_links_follow_the_address_the_first_command_serves():
    assert _base_url_for(None) == "http://127.0.0.1:8000"
    assert _base_url_for("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert _base_url_for("0.0.0.0:9000") == "http://127.0.0.1:9000"


def test_gunicorn_as_started_by_the_first_command_lets_the_app_answer_a_long_url_in_french(tmp_path):
    """run.sh raises gunicorn's request-line limit so the app itself answers 414, in French."""
    flags = re.search(r"--limit-request-line (\d+)", (ROOT / "scripts/run.sh").read_text())
    assert flags, "scripts/run.sh must raise gunicorn's --limit-request-line"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "MARKETPLACE_ENV": "development",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "--limit-request-line",
            flags[1],
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/catalogue?q=" + "a" * 5000
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=5)
            except urllib.error.HTTPError as refused:
                code, body = refused.code, refused.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        assert code == 414
        assert "Adresse trop longue" in body and "Request Line is too large" not in body
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


# --- No reste à charge on a cancelled or refused enrolment -----------------------------------------------------


def test_cancelled_and_refused_enrolments_show_no_reste_a_charge(client, login, make, outbox):
    from marketplace.services import enrolments
    from marketplace.services.identifiers import SIZE_BANDS

    half = {code: 50 for code, *_ in SIZE_BANDS}  # the company pays half: a remainder to show or not
    opco_admin = make.user()
    akto = make.opco("akto", admin=opco_admin)
    admin = make.user()
    company = make.company(admin=admin)
    approval = make.session(make.action(akto, requires_approval=True, price_cents=90_000, shares=half))
    plain = make.session(make.action(akto, price_cents=90_000, shares=half))
    refused = make.enrolment(approval, company, actor=admin)
    cancelled = make.enrolment(plain, company, actor=admin)
    kept = make.enrolment(plain, company, actor=admin)
    enrolments.refuse(refused, opco_admin, akto.id, "Plafond de la branche atteint.")
    enrolments.cancel(cancelled, admin)
    db.session.commit()
    assert kept.remainder_cents == 45_000

    login(client, admin)
    for enrolment in (refused, cancelled):
        page = visible_text(client.get(f"/entreprise/{company.slug}/inscriptions/{enrolment.id}"))
        assert "Reste à charge Aucun" in page
        assert "Reste à charge HT" not in page and "450,00" not in page
    listing = visible_text(client.get(f"/entreprise/{company.slug}/inscriptions"))
    assert listing.count("Aucun") == 2 and listing.count("450,00 € HT") == 1  # only the kept one
    [mail] = [m for m in outbox() if m.template == "enrolment_refused"]
    assert "Reste à charge : aucun (refusée)" in mail.body_text
