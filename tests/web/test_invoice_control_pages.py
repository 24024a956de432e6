"""The OPCO's invoice control and payment pages, and the organisation's bank details and answer page, as
their users see them."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Invoice, PaymentBatch, TrainingProvider
from tests.opco_invoices import IBAN_FR, opco_invoice, with_bank, with_payer_account
from tests.web.pages import visible_text


def _client(app, login, user):
    client = app.test_client()
    login(client, user)
    return client


def _csrf(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _setup(make):
    akto = make.opco("akto")
    akto.control_sampling_pct = 0
    opco_admin = make.user()
    make.member(akto, opco_admin, "admin")
    provider_admin = make.user()
    provider = make.provider(admin=provider_admin, name="Formations du Rhône")
    invoice = opco_invoice(make, provider=provider)
    return akto, opco_admin, provider, provider_admin, invoice


def test_queue_shows_checks_and_the_control_page_traces_lines(app, make, login):
    akto, opco_admin, provider, _admin, invoice = _setup(make)
    client = _client(app, login, opco_admin)
    page = visible_text(client.get(f"/opco/{akto.slug}/factures"))
    assert invoice.number in page and "Formations du Rhône" in page and "Tous OK" in page
    response = client.get(f"/opco/{akto.slug}/factures/{invoice.id}")
    text = visible_text(response)
    assert response.status_code == 200
    assert "Chaque demi-journée de la session est attestée" in text and "OK" in text
    assert "Certificat de réalisation" in text  # the session's documents, downloadable
    assert invoice.lines[0].label in text


def test_validate_partially_needs_a_reason_then_the_organisation_is_told(app, make, login, outbox):
    akto, opco_admin, _provider, provider_admin, invoice = _setup(make)
    client = _client(app, login, opco_admin)
    url = f"/opco/{akto.slug}/factures/{invoice.id}"
    token = _csrf(client, url)
    response = client.post(
        f"{url}/valider", data={"csrf_token": token, "validated_amount": "1,00", "adjustment_reason": ""}
    )
    assert response.status_code == 422
    assert "motif de l'ajustement" in visible_text(response)
    assert db.session.get(Invoice, invoice.id).status == "issued"
    too_much = f"{invoice.total_ttc_cents // 100 + 1},00"
    response = client.post(f"{url}/valider", data={"csrf_token": token, "validated_amount": too_much})
    assert response.status_code == 422 and "ne peut pas dépasser" in visible_text(response)
    response = client.post(
        f"{url}/valider",
        data={"csrf_token": token, "validated_amount": "1,00", "adjustment_reason": "Heures non justifiées"},
    )
    assert response.status_code == 303
    invoice = db.session.get(Invoice, invoice.id)
    db.session.refresh(invoice)
    assert invoice.status == "validated" and invoice.validated_cents == 100
    assert any(
        "validée" in m.subject and "Heures non justifiées" in m.body_text
        for m in outbox(provider_admin.email)
    )


def test_request_for_documents_then_the_organisation_answers(app, make, login, outbox):
    akto, opco_admin, _provider, provider_admin, invoice = _setup(make)
    opco_client = _client(app, login, opco_admin)
    url = f"/opco/{akto.slug}/factures/{invoice.id}"
    deadline = (paris_today() + timedelta(days=8)).isoformat()
    response = opco_client.post(
        f"{url}/complements",
        data={
            "csrf_token": _csrf(opco_client, url),
            "info_request": "Le scan du 2e jour",
            "info_deadline": deadline,
        },
    )
    assert response.status_code == 303
    mail = [m for m in outbox(provider_admin.email) if "compléments" in m.subject][-1]
    answer_url = re.search(r"http://[^/]+(/of/\S+/reponse-opco)", mail.body_text).group(1)
    of_client = _client(app, login, provider_admin)
    page = visible_text(of_client.get(answer_url))
    assert "Le scan du 2e jour" in page and "Compléments demandés" in page
    response = of_client.post(
        answer_url, data={"csrf_token": _csrf(of_client, answer_url), "message": "Scan déposé ce matin."}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "in_control"
    assert any("Scan déposé ce matin." in m.body_text for m in outbox(opco_admin.email))


def test_a_role_without_control_permission_gets_403_and_another_opco_404(app, make, login):
    akto, _admin, _provider, _padmin, invoice = _setup(make)
    manager = make.user()
    make.member(akto, manager, "catalogue_manager")
    client = _client(app, login, manager)
    assert client.get(f"/opco/{akto.slug}/factures").status_code == 403
    assert client.get(f"/opco/{akto.slug}/paiements").status_code == 403
    atlas = make.opco("atlas")
    atlas_admin = make.user()
    make.member(atlas, atlas_admin, "admin")
    other = _client(app, login, atlas_admin)
    assert other.get(f"/opco/{atlas.slug}/factures/{invoice.id}").status_code == 404
    batch = PaymentBatch(opco_id=akto.id, reference="LOT-AKTO-1")
    db.session.add(batch)
    db.session.commit()
    assert other.get(f"/opco/{atlas.slug}/paiements/{batch.id}").status_code == 404
    assert other.post(f"/opco/{atlas.slug}/paiements/{batch.id}/payer", data={}).status_code in (400, 404)
    # A company or a training organisation never reaches the OPCO's pages.
    company_admin = make.user()
    make.company("akto", admin=company_admin)
    assert _client(app, login, company_admin).get(f"/opco/{akto.slug}/factures").status_code == 404
    assert _client(app, login, _padmin).get(f"/opco/{akto.slug}/paiements").status_code == 404


def test_pay_in_a_batch_download_the_sepa_file_and_the_organisation_sees_paid(app, make, login, outbox):
    akto, opco_admin, provider, provider_admin, invoice = _setup(make)
    with_payer_account(akto)
    client = _client(app, login, opco_admin)
    url = f"/opco/{akto.slug}/factures/{invoice.id}"
    assert client.post(f"{url}/valider", data={"csrf_token": _csrf(client, url)}).status_code == 303
    batches = f"/opco/{akto.slug}/paiements"
    token = _csrf(client, batches)
    response = client.post(batches, data={"csrf_token": token, "invoice_ids": str(invoice.id)})
    assert response.status_code == 422
    assert "coordonnées bancaires confirmées" in visible_text(response)
    with_bank(db.session.get(TrainingProvider, provider.id))
    response = client.post(batches, data={"csrf_token": token, "invoice_ids": str(invoice.id)})
    assert response.status_code == 303
    batch = db.session.scalar(select(PaymentBatch))
    detail = response.headers["Location"]
    download = client.post(f"{detail}/fichier-sepa", data={"csrf_token": token})
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert IBAN_FR.encode() in download.data and invoice.number.encode() in download.data
    db.session.expire_all()
    assert db.session.get(PaymentBatch, batch.id).status == "exported"
    assert client.post(f"{detail}/payer", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert any("a payé 1 facture(s)" in m.subject for m in outbox(provider_admin.email))
    of_client = _client(app, login, provider_admin)
    page = visible_text(of_client.get(f"/of/{provider.slug}/factures/{invoice.id}/reponse-opco"))
    assert "Payée" in page


def test_bank_details_refuse_an_invalid_iban_and_apply_by_the_emailed_link(app, make, login, outbox):
    admin = make.user()
    provider = make.provider(admin=admin)
    client = _client(app, login, admin)
    url = f"/of/{provider.slug}/coordonnees-bancaires"
    token = _csrf(client, url)
    response = client.post(
        url, data={"csrf_token": token, "iban": "FR76 3000 6000 0112 3456 7890 180", "account_holder": "OF"}
    )
    assert response.status_code == 422
    assert "Cet IBAN n'est pas valide" in visible_text(response)
    db.session.expire_all()
    assert db.session.get(TrainingProvider, provider.id).pending_iban is None
    response = client.post(
        url,
        data={"csrf_token": token, "iban": "FR76 3000 6000 0112 3456 7890 189", "account_holder": "OF Test"},
    )
    assert response.status_code == 303
    mail = [m for m in outbox(admin.email) if "Confirmez" in m.subject][-1]
    link = re.search(r"http://[^/]+(/of/\S+/confirmer/\S+)", mail.body_text).group(1)
    page = visible_text(client.get(link))
    assert "FR76 •••• •••• 0189" in page and "AGRIFRPPXXX" in page
    assert client.post(link, data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(TrainingProvider, provider.id).iban == IBAN_FR
    page = visible_text(client.get(link))
    assert "n'est plus valable" in page


def test_payment_settings_set_the_sampling_rate_and_the_debit_account(app, make, login):
    akto, opco_admin, _provider, _padmin, invoice = _setup(make)
    client = _client(app, login, opco_admin)
    url = f"/opco/{akto.slug}/factures/parametres"
    token = _csrf(client, url)
    response = client.post(url, data={"csrf_token": token, "control_sampling_pct": "101"})
    assert response.status_code == 422 and "entre 0 et 100" in visible_text(response)
    response = client.post(
        url,
        data={"csrf_token": token, "control_sampling_pct": "100", "payer_iban": "FR76 0000", "payer_bic": ""},
    )
    assert response.status_code == 422 and "Cet IBAN n'est pas valide" in visible_text(response)
    db.session.expire_all()
    assert db.session.get(type(akto), akto.id).control_sampling_pct == 0
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "control_sampling_pct": "100",
            "payer_iban": "FR76 3000 4000 0300 0123 4567 897",
            "payer_bic": "",
            "payer_account_holder": "AKTO",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    opco = db.session.get(type(akto), akto.id)
    assert opco.control_sampling_pct == 100 and opco.payer_bic.startswith("BNPAFRPP")
    # At 100 %, taking the received invoices into control draws every one: flagged in the queue.
    queue = f"/opco/{akto.slug}/factures"
    assert client.post(f"{queue}/prendre-en-controle", data={"csrf_token": token}).status_code == 303
    page = visible_text(client.get(queue))
    assert invoice.number in page and "Tirée au sort" in page
