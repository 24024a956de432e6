"""Export jobs and the lists they export, the training organisation's figures (with BPF help) and the
company's history — against a small dataset whose figures are computed by hand.

Dataset (one OPCO, one training organisation, one company of 20 employees → band 11-49 funded at 80 %):
- action A, price 1 000 € HT; session S1 held (delivered): Alice attended 14 h of 14 h, Bruno 7 h of 14 h;
  session S2 of A cancelled; both start the same year Y;
- OPCO invoice of S1: 2 × 800 € (paid); company invoice of S1: remainder 200 € for Alice (paid) and a dédit
  of 50 € for Bruno (issued, not paid).
"""

from __future__ import annotations

import csv
import io
import os
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ExportJob,
    ExportStatus,
    Invoice,
    InvoiceLine,
    utcnow,
)
from marketplace.services import company_history, export_jobs, export_lists, provider_figures
from marketplace.services.export_writer import Euros
from tests.delivered import delivered_session
from tests.opco_invoices import issued_invoice
from tests.web.pages import text as _text


def text(response) -> str:
    """The page's text with French number spaces as plain spaces."""
    return _text(response).replace("\u202f", " ").replace("\xa0", " ")


CSV_TYPE = "text/csv; charset=utf-8"


def _company_invoice(session, company, lines, *, status):
    n = len(db.session.scalars(select(Invoice.id)).all()) + 500
    invoice = Invoice(
        kind="invoice",
        payer="company",
        company_id=company.id,
        status=status,
        provider_id=session.provider_id,
        opco_id=session.opco_id,
        session_id=session.id,
        number=f"F-E-{n}",
        year=paris_today().year,
        sequence=n,
        issued_on=paris_today() - timedelta(days=1),
        due_on=paris_today() + timedelta(days=29),
        total_ht_cents=sum(a for _e, _k, a in lines),
        vat_cents=0,
        total_ttc_cents=sum(a for _e, _k, a in lines),
        seller_name=session.provider.name,
        buyer_name=company.name,
        paid_on=paris_today() if status == "paid" else None,
        lines=[
            InvoiceLine(
                position=i,
                kind=kind,
                enrolment_id=enrolment.id,
                label="Ligne",
                quantity=Decimal(1),
                unit="stagiaire",
                unit_price_cents=amount,
                amount_ht_cents=amount,
            )
            for i, (enrolment, kind, amount) in enumerate(lines, start=1)
        ],
    )
    db.session.add(invoice)
    db.session.commit()
    return invoice


@pytest.fixture
def data(make):
    opco = make.opco("akto")
    provider = make.provider(name="Organisme Alpha")
    company = make.company("akto", headcount=20, name="Entreprise Bêta")
    alice = make.employee(company, last_name="Martin", first_name="Alice")
    bruno = make.employee(company, last_name="Petit", first_name="Bruno")
    action = make.action(opco, title="Sécurité au travail", shares={"11-49": 80, "<11": 80, "50-249": 80})
    s1, (e_alice, e_bruno) = delivered_session(
        make,
        [(company, alice, "attended", 840), (company, bruno, "partially_attended", 420)],
        action=action,
        provider=provider,
    )
    s2 = make.session(action, provider, start=s1.start_date, status="cancelled")
    opco_invoice = issued_invoice(s1, [e_alice, e_bruno], status="paid")
    opco_invoice.paid_on = paris_today()
    db.session.commit()
    _company_invoice(s1, company, [(e_alice, "training", 20_000)], status="paid")
    _company_invoice(s1, company, [(e_bruno, "dedit", 5_000)], status="issued")
    return {
        "opco": opco,
        "provider": provider,
        "company": company,
        "s1": s1,
        "s2": s2,
        "year": s1.start_date.year,
        "alice": e_alice,
        "bruno": e_bruno,
        "action": action,
    }


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


# --- Export contents -----------------------------------------------------------------------------------------


def test_opco_enrolments_export_csv_and_xlsx(data):
    exporter = export_lists.EnrolmentsExport("opco", data["opco"].id)
    assert exporter.count() == 2
    header, *rows = _csv_rows(exporter.to_csv())
    assert header[:6] == [
        "N° inscription",
        "Date d'inscription",
        "État",
        "Référence action",
        "Action",
        "Organisme de formation",
    ]
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows}
    alice = by_id[data["alice"].id]
    assert alice["Organisme de formation"] == "Organisme Alpha"
    assert alice["Entreprise"] == "Entreprise Bêta"
    assert alice["Tranche d'effectif"] == "De 11 à 49 salariés"
    assert alice["Début"] == data["s1"].start_date.strftime("%d/%m/%Y")
    assert alice["Prix HT (€)"] == "1000,00"
    assert alice["Prise en charge OPCO HT (€)"] == "800,00"
    assert alice["Reste à charge HT (€)"] == "200,00"
    assert alice["Heures prévues"] == "14" and alice["Heures réalisées"] == "14"
    assert by_id[data["bruno"].id]["Heures réalisées"] == "7"
    assert alice["Branche (IDCC)"].startswith(data["company"].idcc)
    sheet = load_workbook(io.BytesIO(exporter.to_xlsx())).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(header)
    funded = header.index("Prise en charge OPCO HT (€)")
    assert sorted(row[funded] for row in values[1:]) == [800, 800]  # numbers, not text
    assert values[1][header.index("Début")].date() == data["s1"].start_date  # a real date


def test_trainees_sessions_and_invoices_exports(data):
    trainees = _csv_rows(export_lists.TraineesExport("provider", data["provider"].id).to_csv())
    assert trainees[0][:2] == ["Nom", "Prénom"] and trainees[0][8] == "OPCO"
    assert [r[0] for r in trainees[1:]] == ["MARTIN", "PETIT"]
    sessions = _csv_rows(export_lists.SessionsExport("opco", data["opco"].id).to_csv())
    header, *rows = sessions
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows}
    held = by_id[data["s1"].id]
    assert held["Tenue / annulée"] == "Tenue" and held["Stagiaires"] == "2"
    assert held["Remplissage (%)"] == str(round(Decimal(200) / data["s1"].capacity_max, 1)).replace(".", ",")
    assert held["Heures réalisées"] == "21"
    assert by_id[data["s2"].id]["Tenue / annulée"] == "Annulée"
    invoices = _csv_rows(export_lists.OpcoInvoicesExport(data["opco"].id).to_csv())
    assert len(invoices) == 2
    row = dict(zip(invoices[0], invoices[1], strict=True))
    assert row["Total HT (€)"] == "1600,00" and row["État"] == "Payée"
    assert row["Payée le"] == paris_today().strftime("%d/%m/%Y")
    # A year with no session: nothing.
    assert export_lists.SessionsExport("opco", data["opco"].id, year=data["year"] - 5).count() == 0


def test_company_history_export(data):
    header, *rows = _csv_rows(company_history.CompanyHistoryExport(data["company"].id).to_csv())
    by_name = {r[1]: dict(zip(header, r, strict=True)) for r in rows}
    alice, bruno = by_name["MARTIN Alice"], by_name["PETIT Bruno"]
    assert alice["Pris en charge par l'OPCO HT (€)"] == "800,00"
    assert alice["Reste à charge HT (€)"] == "200,00"
    assert alice["Payé par l'entreprise HT (€)"] == "200,00"
    assert bruno["Indemnité de dédit HT (€)"] == "50,00"
    assert bruno["Facturé à l'entreprise HT (€)"] == "50,00"
    assert bruno["Payé par l'entreprise HT (€)"] == "0,00"
    assert bruno["Heures réalisées"] == "7"
    assert Euros(-1234).text() == "-12,34"


# --- Jobs ------------------------------------------------------------------------------------------------------


def test_job_is_queued_by_the_request_then_run_with_progress_and_downloaded(client, login, make, data):
    opco = data["opco"]
    analyst = make.user()
    make.member(opco, analyst, "viewer")
    login(client, analyst)
    page = client.get(f"/org/{opco.slug}/exports")
    assert page.status_code == 200
    shown = text(page)
    assert "Inscriptions" in shown and "Stagiaires" in shown
    assert "Factures" not in shown.split("Exports récents")[0]  # a viewer does not control invoices
    response = client.post(
        f"/org/{opco.slug}/exports", data={"kind": "inscriptions", "format": "csv", "year": str(data["year"])}
    )
    assert response.status_code == 303
    job = db.session.scalar(select(ExportJob))
    assert job.status == ExportStatus.QUEUED  # not run inside the request without Redis
    row = client.get(f"/org/{opco.slug}/exports/{job.id}/progression", headers={"HX-Request": "true"})
    assert "every 2s" in row.get_data(as_text=True) and "En attente" in text(row)
    assert export_jobs.run_waiting() == 1
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status == ExportStatus.DONE and (job.rows_done, job.rows_total) == (2, 2)
    row = client.get(f"/org/{opco.slug}/exports/{job.id}/progression", headers={"HX-Request": "true"})
    assert "every 2s" not in row.get_data(as_text=True)  # stops polling
    assert "2 / 2" in text(row) and "Télécharger" in text(row)
    download = client.get(f"/org/{opco.slug}/exports/{job.id}/fichier")
    assert download.status_code == 200 and download.headers["Content-Type"] == CSV_TYPE
    assert len(_csv_rows(download.data)) == 3
    assert download.headers["Cache-Control"] == "private, no-store"
    # Another organisation's member: 404 for the row and the file.
    other = make.company("akto")
    stranger = make.user()
    make.member(other, stranger, "admin")
    client.post("/deconnexion")
    login(client, stranger)
    assert client.get(f"/org/{other.slug}/exports/{job.id}/fichier").status_code == 404
    assert client.get(f"/org/{other.slug}/exports/{job.id}/progression").status_code == 404
    assert client.get(f"/org/{opco.slug}/exports/{job.id}/fichier").status_code == 404


def test_progress_is_written_as_rows_go(app, make, data):
    user = make.user()
    job = export_jobs.start(data["opco"], "admin", user, "stagiaires", "xlsx", "")
    db.session.commit()
    seen = []
    original = export_jobs._set

    def spy(job_id, **values):
        seen.append(values.get("rows_done"))
        original(job_id, **values)

    export_jobs._set = spy
    try:
        assert export_jobs.run(job.id, progress_every=1)
    finally:
        export_jobs._set = original
    assert [v for v in seen if v is not None] == [1, 2, 2]  # each row, then done at n / n
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    sheet = load_workbook(io.BytesIO(b"".join(export_jobs.file_chunks(job)))).active
    assert sheet.max_row == 3
    assert export_jobs.run(job.id) is False  # claimed once only


def test_two_runners_at_once_produce_the_export_once(app, make, data):
    job = export_jobs.start(data["opco"], "admin", make.user(), "inscriptions", "csv", "")
    db.session.commit()
    job_id = job.id  # the threads must not touch the test's database session
    barrier = threading.Barrier(3)
    results: list[bool] = []
    errors: list[BaseException] = []

    def runner():
        try:
            barrier.wait(timeout=30)
            with app.app_context():
                try:
                    results.append(export_jobs.run(job_id))
                finally:
                    db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert sorted(results) == [False, False, True]
    db.session.expire_all()
    job = db.session.get(ExportJob, job_id)
    assert job.status == ExportStatus.DONE and job.rows_done == 2
    scratch = export_jobs.storage.storage().scratch_dir()
    assert os.listdir(scratch) == []  # no file left behind


def test_refusals_and_failure_message(client, login, make, data):
    provider = data["provider"]
    trainer = make.user()
    make.member(provider, trainer, "trainer")
    login(client, trainer)
    refused = client.post(f"/org/{provider.slug}/exports", data={"kind": "factures", "format": "csv"})
    assert refused.status_code == 422 and "pas proposé" in text(refused)
    bad = client.post(
        f"/org/{provider.slug}/exports", data={"kind": "sessions", "format": "pdf", "year": "20x"}
    )
    assert bad.status_code == 422
    assert "CSV ou XLSX" in text(bad) and "quatre chiffres" in text(bad)
    assert db.session.scalar(select(ExportJob)) is None
    job = ExportJob(organisation_id=provider.id, kind="inconnu", format="csv", parameters={})
    db.session.add(job)
    db.session.commit()
    assert export_jobs.run(job.id) is False
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == ExportStatus.FAILED
    page = client.get(f"/org/{provider.slug}/exports")
    assert "n'a pas pu être produit" in text(page)


def test_expired_files_are_purged(app, make, data):
    job = export_jobs.start(data["company"], "admin", make.user(), "historique", "csv", "")
    db.session.commit()
    assert export_jobs.run(job.id)
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    path = export_jobs.storage.storage()._path(job.storage_key)
    assert path.exists()
    assert export_jobs.purge_expired(utcnow()) == 0
    assert export_jobs.purge_expired(utcnow() + timedelta(days=export_jobs.KEEP_DAYS + 1)) == 1
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status == ExportStatus.EXPIRED and job.storage_key is None
    assert not path.exists()


def test_dead_run_is_marked_failed(app, make, data):
    job = export_jobs.start(data["opco"], "admin", make.user(), "sessions", "csv", "")
    db.session.commit()
    job.status, job.heartbeat_at = ExportStatus.RUNNING, utcnow() - timedelta(hours=1)
    db.session.commit()
    export_jobs.run_waiting()
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status == ExportStatus.FAILED and "Demandez-le à nouveau" in job.error


def test_scheduler_job_runs_exports(cli, make, data):
    job = export_jobs.start(data["provider"], "admin", make.user(), "factures", "csv", "")
    db.session.commit()
    result = cli("run-job", "exports")
    assert result.exit_code == 0, result.output
    assert db.session.get(ExportJob, job.id).status == ExportStatus.DONE


# --- Training organisation's figures -----------------------------------------------------------------------------


def test_provider_figures_and_bpf(data):
    figures = provider_figures.figures(data["provider"].id, data["year"])
    [action] = figures.actions
    assert (action.held, action.cancelled, action.trainees) == (1, 1, 2)
    assert action.seats == data["s1"].capacity_max
    assert action.fill_pct == round(200 / data["s1"].capacity_max, 1)
    assert (action.planned, action.attended) == (1680, 1260)
    assert action.realisation_pct == 75.0
    assert action.revenue == {"opco": 160_000, "company": 20_000}
    assert action.dedit == 5_000
    bpf = figures.bpf
    assert (bpf.revenue_opco, bpf.revenue_companies, bpf.revenue_total) == (160_000, 20_000, 180_000)
    assert [(line.label, line.trainees, line.minutes) for line in bpf.by_category] == [
        ("Salariés d'employeurs privés hors apprentis", 2, 1260)
    ]
    assert [(line.trainees, line.minutes) for line in bpf.by_funding] == [(2, 1260)]
    assert (bpf.total.trainees, bpf.total.minutes) == (2, 1260)
    assert provider_figures.figures(data["provider"].id, data["year"] - 3).actions == []


def test_provider_figures_page_and_export(client, login, make, data):
    provider = data["provider"]
    accountant = make.user()
    make.member(provider, accountant, "accountant")
    login(client, accountant)
    page = client.get(f"/of/{provider.slug}/indicateurs?annee={data['year']}")
    shown = text(page)
    assert page.status_code == 200 and "Sécurité au travail" in shown
    assert "75 %" in shown or "75,0 %" in shown
    assert "1 600,00" in shown and "pas le cerfa" in shown
    header, *rows = _csv_rows(
        client.get(f"/of/{provider.slug}/indicateurs/export.csv?annee={data['year']}").data
    )
    total = dict(zip(header, rows[-1], strict=True))
    assert total["CA facturé total HT (€)"] == "1800,00" and total["Réalisation (%)"] == "75,0"
    assert client.get(f"/of/{provider.slug}/indicateurs?annee=abc").status_code == 200
    trainer = make.user()
    make.member(provider, trainer, "trainer")
    client.post("/deconnexion")
    login(client, trainer)
    assert "CA facturé" not in text(client.get(f"/of/{provider.slug}/indicateurs"))
    assert client.get(f"/of/{provider.slug}/indicateurs/export.csv").status_code == 403


# --- Company history --------------------------------------------------------------------------------------------


def test_company_history_page(client, login, make, data):
    company = data["company"]
    viewer = make.user()
    make.member(company, viewer, "viewer")
    login(client, viewer)
    page = client.get(f"/entreprise/{company.slug}/historique")
    shown = text(page)
    assert page.status_code == 200 and "MARTIN Alice" in shown and "PETIT Bruno" in shown
    assert "1 600,00" in shown  # funded by the OPCO in the year
    assert "200,00" in shown and "50,00" in shown
    only = client.get(f"/entreprise/{company.slug}/historique?salarie={data['alice'].employee_id}")
    assert "PETIT Bruno" not in text(only).split("Détail")[1]
    exported = client.get(
        f"/entreprise/{company.slug}/historique/export.xlsx?salarie={data['alice'].employee_id}"
    )
    sheet = load_workbook(io.BytesIO(exported.data)).active
    assert sheet.max_row == 2
    assert client.get(f"/entreprise/{company.slug}/historique?annee=zz&salarie=-1").status_code == 200
    other_year = client.get(f"/entreprise/{company.slug}/historique?annee={data['year'] - 4}")
    assert "Aucune formation" in text(other_year)


def test_demo_opco_has_a_finished_export(cli, client, login):
    from marketplace.models import Opco, User
    from marketplace.services.demo import DEMO_PASSWORD

    assert cli("seed-demo").exit_code == 0
    akto = db.session.scalar(select(Opco).where(Opco.code == "akto"))
    job = db.session.scalar(select(ExportJob).where(ExportJob.organisation_id == akto.id))
    assert job.status == ExportStatus.DONE and job.rows_total > 0
    user = db.session.scalar(select(User).where(User.email == "opco@demo.test"))
    login(client, user, DEMO_PASSWORD)
    assert "Télécharger" in text(client.get(f"/org/{akto.slug}/exports"))
    sheet = load_workbook(io.BytesIO(client.get(f"/org/{akto.slug}/exports/{job.id}/fichier").data)).active
    assert sheet.max_row == job.rows_total + 1


def test_with_redis_the_export_goes_to_an_rq_worker(app_factory, redis_url, make, data):
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(redis_url)
    queue = Queue("marketplace", connection=connection)
    queue.empty()
    rq_app = app_factory(REDIS_URL=redis_url)
    user = make.user()
    opco_id = data["opco"].id
    try:
        with rq_app.app_context():
            from marketplace.models import Opco

            job = export_jobs.start(
                db.session.get(Opco, opco_id), "admin", db.session.merge(user), "sessions", "csv", ""
            )
            db.session.commit()
            job_id = job.id
        assert queue.count == 1
        assert db.session.get(ExportJob, job_id).status == ExportStatus.QUEUED  # handed over, not run here
        with rq_app.app_context():
            assert SimpleWorker([queue], connection=connection).work(burst=True)
        db.session.expire_all()
        job = db.session.get(ExportJob, job_id)
        assert job.status == ExportStatus.DONE and job.rows_total == 2
        with rq_app.app_context():
            assert export_jobs.run_waiting() == 0  # the scheduler leaves RQ's exports alone
    finally:
        queue.empty()
