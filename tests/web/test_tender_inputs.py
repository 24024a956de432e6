"""Hostile input on every form field and query parameter of the tender, response and evaluation pages.

Huge and negative numbers, NUL bytes, 1 MB strings, several values for one field, absurd dates: never a server
error; a refusal changes nothing. Ids carried in form fields (an action, a response, a criterion) must belong to
the tender or the organisation.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    EvaluatorDeclaration,
    Referencing,
    ResponseDocument,
    Score,
    ScoreSheet,
    Tender,
    TenderAttachment,
    TenderCriterion,
    TenderLot,
    TenderQuestion,
    TenderResponse,
    utcnow,
)
from marketplace.services import evaluation, evaluation_scores
from tests.web.inputs_expect import assert_refused_or, expected_refusal
from tests.web.pages import visible_text

NOW = utcnow()
TODAY = paris_today()
NEXT_YEAR = TODAY.year + 1

HOSTILE = [
    "",
    "x" * 1_000_000,
    "a\x00b",
    "9" * 40,
    "-1",
    "2147483648",
    "-99999999999999999999",
    "9999-12-31",
    "0001-01-01T00:00",
    "1e999",
    "\u202e\u0007",
    ["1", "2"],
]


def snapshot() -> tuple:
    """Everything these pages can change: row counts and the states of tenders and responses."""
    db.session.expire_all()
    counts = tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (
            Tender,
            TenderLot,
            TenderCriterion,
            TenderQuestion,
            TenderAttachment,
            TenderResponse,
            ResponseDocument,
            ScoreSheet,
            Score,
            EvaluatorDeclaration,
            Referencing,
            AuditEvent,
        )
    )
    states = tuple(
        db.session.execute(select(Tender.id, Tender.status, Tender.title).order_by(Tender.id)).all()
    )
    responses = tuple(
        db.session.execute(
            select(
                TenderResponse.id,
                TenderResponse.status,
                TenderResponse.programme,
                TenderResponse.price_per_trainee_cents,
            ).order_by(TenderResponse.id)
        ).all()
    )
    questions = tuple(db.session.execute(select(TenderQuestion.id, TenderQuestion.answer)).all())
    return counts, states, responses, questions


def post_each(client, path: str, base: dict, fields: list[str], *, ok=(303,), values=None, **kwargs) -> None:
    """POST ``base`` with each field in turn set to each hostile value: no 5xx; a refusal changes nothing."""
    for name in fields:
        for value in values or HOSTILE:
            data = MultiDict(base)
            if isinstance(value, list):
                data.setlist(name, value)
            else:
                data[name] = value
            before = snapshot()
            response = client.post(path, data=data, **kwargs)
            shown = f"{name}={str(value)[:20]!r} → {response.status_code}"
            assert response.status_code < 500, shown
            refusal = expected_refusal(value)  # NUL: 400, 1 MB: 413, before the view
            if refusal is not None:
                assert_refused_or(response, (), value)
            if response.status_code not in ok:
                assert response.status_code in (400, 404, 409, 413, 422), shown
                assert snapshot() == before, shown
            db.session.rollback()


def get_each(client, path: str, params: list[str]) -> None:
    for name in params:
        for value in HOSTILE:
            if isinstance(value, list):
                query = "&".join(f"{name}={v}" for v in value)
                response = client.get(f"{path}?{query}")
            else:
                response = client.get(path, query_string={name: value[:5000]})
            assert response.status_code < 500, f"{name}={str(value)[:20]!r} → {response.status_code}"
            assert_refused_or(
                response, (200, 404), value if isinstance(value, list) else value[:5000], sent_as="query"
            )


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def admin(make, akto):
    user = make.user(email="admin@akto.test", full_name="Annie Administratrice")
    make.member(akto, user, "admin")
    return user


@pytest.fixture
def opco_client(client, login, admin):
    login(client, admin)
    return client


@pytest.fixture
def provider(make):
    return make.provider(name="Formations du Rhône")


@pytest.fixture
def provider_client(app, login, provider):
    client = app.test_client()
    login(client, provider.memberships[0].user)
    return client


def builder_form(**changes) -> dict:
    data = {
        "title": "Management de proximité",
        "reference": "AO-FUZZ-01",
        "context": "Contexte.",
        "specification": "Cahier.",
        "questions_deadline": f"{NEXT_YEAR}-01-10T12:00",
        "submission_deadline": f"{NEXT_YEAR}-01-20T12:00",
        "expected_award_date": f"{NEXT_YEAR}-02-15",
        "required_documents": "technical_proposal",
        "lots-0-title": "Lot unique",
        "lots-0-theme_code": "31",
        "lots-0-region_code": "11",
        "lots-0-expected_sessions": "4",
        "lots-0-expected_trainees": "40",
        "lots-0-max_price": "1 200,50",
        "lots-0-duration_hours": "14",
        "lots-0-action_id": "",
        "criteria-0-label": "Valeur technique",
        "criteria-0-weight": "60",
        "criteria-1-label": "Prix",
        "criteria-1-weight": "40",
    }
    data.update(changes)
    return data


BUILDER_FIELDS = [
    "title",
    "reference",
    "context",
    "questions_deadline",
    "submission_deadline",
    "expected_award_date",
    "required_documents",
    "multi_award",
    "lots-0-title",
    "lots-0-theme_code",
    "lots-0-region_code",
    "lots-0-expected_sessions",
    "lots-0-expected_trainees",
    "lots-0-max_price",
    "lots-0-duration_hours",
    "lots-0-action_id",
    "criteria-0-label",
    "criteria-0-weight",
    "lots-29-title",
    "criteria-40-weight",
]
# Fields whose value reaches the database when the rest of the form is valid.
STORED_FIELDS = [
    "title",
    "reference",
    "context",
    "questions_deadline",
    "submission_deadline",
    "expected_award_date",
    "lots-0-title",
    "lots-0-max_price",
    "lots-0-action_id",
    "criteria-0-label",
    "criteria-0-weight",
]


def test_the_builder_survives_hostile_values(opco_client, akto, make):
    base = f"/opco/{akto.slug}/appels-d-offres"
    # Everything refused first (a reference already taken): only refusals, nothing may change.
    make.tender(akto, status="draft")
    taken = db.session.scalar(select(Tender.reference))
    post_each(
        opco_client,
        base + "/nouveau",
        builder_form(reference=taken),
        [f for f in BUILDER_FIELDS if f != "reference"],
        ok=(),
        values=["a\x00b", "9" * 40, "9999-12-31", ["1", "2"]],
    )
    # Then valid otherwise: a value the service accepts creates a draft, anything else changes nothing.
    post_each(opco_client, base + "/nouveau", builder_form(), STORED_FIELDS)
    draft = make.tender(akto, status="draft", title="À modifier")
    post_each(
        opco_client,
        f"{base}/{draft.id}/modifier",
        builder_form(reference=draft.reference),
        ["title", "lots-0-action_id"],
    )


def test_a_foreign_action_in_a_lot_is_refused(opco_client, akto, make):
    foreign = make.action(make.opco("atlas"))
    before = snapshot()
    response = opco_client.post(
        f"/opco/{akto.slug}/appels-d-offres/nouveau",
        data=builder_form(**{"lots-0-action_id": str(foreign.id)}),
    )
    assert response.status_code == 422
    assert "Lot 1 : choisissez une action collective de votre catalogue." in visible_text(response)
    assert snapshot() == before


def test_opco_pages_ignore_hostile_query_parameters(opco_client, akto, make):
    tender = make.tender(akto)
    base = f"/opco/{akto.slug}/appels-d-offres"
    get_each(opco_client, base, ["statut", "page"])
    get_each(opco_client, base + "/nouveau", ["lots", "criteres"])
    get_each(opco_client, base + "/ponderations", ["criteria-0-weight", "criteria-1-weight"])
    get_each(opco_client, f"{base}/{tender.id}", ["page"])
    assert opco_client.get(f"{base}/{2**31}").status_code == 404
    assert opco_client.get(f"{base}/99999999999999999999999/modifier").status_code == 404
    assert opco_client.get(f"{base}/-1").status_code == 404


def test_provider_list_ignores_hostile_filters(provider_client, provider, akto, make):
    make.tender(akto, title="Management AKTO")
    base = f"/of/{provider.slug}/appels-d-offres"
    get_each(provider_client, base, ["opco", "theme", "region", "echeance", "etat", "page"])
    response = provider_client.get(
        base, query_string={"echeance": "9999-12-31", "opco": "9" * 30, "page": "-5", "theme": "<script>"}
    )
    assert response.status_code == 200 and "Management AKTO" in visible_text(response)
    response = provider_client.get(base, query_string={"page": "-5", "theme": "\x00"})
    assert_refused_or(response, 200, "\x00", sent_as="query")
    response = provider_client.get(base, headers={"HX-Request": "true"}, query_string={"page": "2147483648"})
    assert response.status_code == 200 and "<h1>" not in response.get_data(as_text=True)


def test_questions_answers_and_state_changes_survive_hostile_values(
    opco_client, provider_client, provider, akto, make
):
    tender = make.tender(akto)
    post_each(
        provider_client,
        f"/of/{provider.slug}/appels-d-offres/{tender.id}/questions",
        {"question": "Le distanciel est-il accepté ?"},
        ["question"],
    )
    question = db.session.scalar(select(TenderQuestion))
    assert question is not None
    base = f"/opco/{akto.slug}/appels-d-offres/{tender.id}"
    post_each(
        opco_client,
        f"{base}/questions/{question.id}",
        {"answer": "Oui.", "publish": "y"},
        ["answer", "publish"],
    )
    closed = make.tender(
        akto,
        status="closed",
        submission_deadline=NOW - timedelta(days=1),
        questions_deadline=NOW - timedelta(days=5),
    )
    post_each(
        opco_client,
        f"/opco/{akto.slug}/appels-d-offres/{closed.id}/etat",
        {"event": "declare_unsuccessful", "reason": "Offres trop chères"},
        ["event", "reason"],
    )
    post_each(opco_client, f"/opco/{akto.slug}/appels-d-offres/{tender.id}/pieces", {}, ["file"])


def test_the_response_form_survives_hostile_values(provider_client, provider, akto, make):
    tender = make.tender(akto, required_documents=["technical_proposal"])
    lot = tender.lots[0]
    url = f"/of/{provider.slug}/appels-d-offres/{tender.id}/lots/{lot.id}/reponse"
    fields = {
        "action": "save",
        "price_per_trainee": "1 150,00",
        "price_per_group": "",
        "duration_hours": "14",
        "programme": "Programme.",
        "team": "Équipe.",
    }
    post_each(
        provider_client,
        url,
        fields,
        ["price_per_trainee", "price_per_group", "duration_hours", "programme", "team", "action"],
    )
    get_each(provider_client, url, ["confirmer"])
    for kind in HOSTILE:
        before = snapshot()
        response = provider_client.post(
            url + "/documents",
            content_type="multipart/form-data",
            data={
                "kind": kind if isinstance(kind, str) else kind[0],
                "file": (io.BytesIO(b"%PDF-1.4 test"), "memoire\x00.pdf"),
            },
        )
        assert response.status_code < 500
        if response.status_code != 303:
            assert snapshot() == before
    before = snapshot()
    response = provider_client.post(
        url + "/documents", data={"kind": "technical_proposal", "file": "pas un fichier"}
    )
    assert response.status_code == 422 and snapshot() == before
    # Submitting or withdrawing somebody else's response is impossible: the organisation's own is looked up.
    other = make.tender_response(tender, make.provider(name="Autre Organisme"), status="draft")
    assert provider_client.post(url + "/deposer", data={"response_id": str(other.id)}).status_code in (
        303,
        404,
        422,
    )
    assert db.session.get(TenderResponse, other.id, populate_existing=True).status == "draft"


@pytest.fixture
def analysed(make, akto, admin):
    """A tender under analysis with one admissible response, scored by another evaluator (two lots)."""
    tender = make.tender(
        akto,
        status="under_analysis",
        lots=2,
        submission_deadline=NOW - timedelta(days=1),
        questions_deadline=NOW - timedelta(days=10),
    )
    response = make.tender_response(tender, make.provider(name="Delta Formation"))
    evaluation.decide_admissibility(
        response,
        admin,
        akto,
        admissible=True,
        checklist={code: True for code in evaluation.MANUAL_CHECKLIST},
        reason=None,
        now=NOW,
    )
    db.session.commit()
    return tender, response


def test_evaluation_forms_survive_hostile_values(opco_client, akto, admin, analysed, make):
    tender, response = analysed
    base = f"/opco/{akto.slug}/appels-d-offres/{tender.id}/evaluation"
    pending = make.tender_response(tender, make.provider(name="Pas encore examinée"))
    post_each(
        opco_client,
        f"{base}/reponses/{pending.id}/recevabilite",
        {"decision": "inadmissible", "reason": "Pièces illisibles."},
        ["decision", "reason", "check_readable"],
    )
    post_each(opco_client, f"{base}/declaration", {"accept": "y"}, ["accept"])
    evaluation_scores.sign_declaration(tender, admin, True, NOW)
    db.session.commit()
    sheet = {"submit_sheet": "0"}
    for criterion in tender.criteria:
        sheet[f"score_{criterion.id}"] = "3"
        sheet[f"justification_{criterion.id}"] = "Justifié."
    first = tender.criteria[0].id
    post_each(
        opco_client,
        f"{base}/reponses/{response.id}/notes",
        sheet,
        ["submit_sheet", f"score_{first}", f"justification_{first}"],
    )
    lot = tender.lots[0]
    post_each(
        opco_client,
        f"{base}/attribution",
        {
            f"lot_{lot.id}": str(response.id),
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        },
        [f"lot_{lot.id}", "valid_from", "valid_until"],
        ok=(),
    )
    get_each(opco_client, base, ["page"])


def test_ids_in_evaluation_forms_must_belong_to_the_tender(opco_client, akto, admin, analysed, make):
    tender, response = analysed
    base = f"/opco/{akto.slug}/appels-d-offres/{tender.id}/evaluation"
    other = make.tender(
        akto,
        status="under_analysis",
        submission_deadline=NOW - timedelta(days=1),
        questions_deadline=NOW - timedelta(days=10),
    )
    foreign = make.tender_response(other, make.provider(name="Réponse d'un autre appel"))
    evaluation.decide_admissibility(
        foreign,
        admin,
        akto,
        admissible=True,
        checklist={code: True for code in evaluation.MANUAL_CHECKLIST},
        reason=None,
        now=NOW,
    )
    evaluation_scores.sign_declaration(tender, admin, True, NOW)
    evaluation_scores.save_scores(
        response, admin, {c.id: (4, "Bien.") for c in tender.criteria}, submit=True, now=NOW
    )
    db.session.commit()

    before = snapshot()
    # Another tender's response as a winner.
    refused = opco_client.post(
        f"{base}/attribution",
        data={
            f"lot_{tender.lots[0].id}": str(foreign.id),
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "la réponse choisie n'appartient pas à ce lot" in visible_text(refused)
    # Another tender's lot as a key: ignored, the tender's own lots decide.
    refused = opco_client.post(
        f"{base}/attribution",
        data={
            f"lot_{other.lots[0].id}": str(foreign.id),
            f"lot_{tender.lots[0].id}": str(2**40),
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        },
    )
    assert refused.status_code == 422
    # Another tender's response under this tender's URL.
    assert (
        opco_client.post(f"{base}/reponses/{foreign.id}/notes", data={"submit_sheet": "1"}).status_code == 404
    )
    assert (
        opco_client.post(
            f"{base}/reponses/{foreign.id}/recevabilite", data={"decision": "inadmissible", "reason": "x"}
        ).status_code
        == 404
    )
    assert snapshot() == before

    # A criterion of another tender in a score sheet is not read: the sheet is judged on the tender's own.
    pending = make.tender_response(tender, make.provider(name="Epsilon"), lot=tender.lots[1])
    evaluation.decide_admissibility(
        pending,
        admin,
        akto,
        admissible=True,
        checklist={code: True for code in evaluation.MANUAL_CHECKLIST},
        reason=None,
        now=NOW,
    )
    db.session.commit()
    before = snapshot()
    response_page = opco_client.post(
        f"{base}/reponses/{pending.id}/notes",
        data={
            "submit_sheet": "1",
            f"score_{other.criteria[0].id}": "5",
            f"justification_{other.criteria[0].id}": "x",
        },
    )
    assert response_page.status_code == 422
    assert "choisissez une note de 0 à 5" in visible_text(response_page)
    assert snapshot() == before
