"""OPCO evaluation pages (admissibility, declaration, score sheets, ranking, award, documents) and the registry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    CollectiveAction,
    Referencing,
    ResponseStatus,
    ScoreSheet,
    TenderResponse,
    TenderStatus,
    TrainingSession,
    utcnow,
)
from tests.web.pages import count_queries, flashes, visible_text
from tests.web.writes import writes

NOW = utcnow()
TODAY = paris_today()


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def admin(make, akto):
    user = make.user(email="acheteur@akto.test", full_name="Annie Acheteuse")
    make.member(akto, user, "admin")
    return user


@pytest.fixture
def signed_in(client, login, admin):
    login(client, admin)
    return client


def analysed(make, opco, **kwargs):
    kwargs.setdefault("status", "under_analysis")
    return make.tender(
        opco,
        submission_deadline=NOW - timedelta(days=1),
        questions_deadline=NOW - timedelta(days=10),
        title=kwargs.pop("title", "Management de proximité"),
        **kwargs,
    )


def url(tender, path: str = "") -> str:
    return f"/opco/{tender.opco.slug}/appels-d-offres/{tender.id}/evaluation{path}"


def document_url(tender, document) -> str:
    return f"/opco/{tender.opco.slug}/appels-d-offres/{tender.id}/documents/{document.id}"


def sheet_form(tender, *values, text="Preuves dans le mémoire.", submit=True) -> dict:
    data = {"submit_sheet": "1" if submit else "0"}
    for criterion, value in zip(tender.criteria, values, strict=True):
        data[f"score_{criterion.id}"] = str(value)
        data[f"justification_{criterion.id}"] = text
    return data


ALL_CHECKED = {"check_specific_memoir": "y", "check_prices_conform": "y", "check_readable": "y"}


def test_full_evaluation_through_the_pages(make, akto, admin, signed_in, outbox):
    tender = analysed(make, akto)
    winner = make.tender_response(
        tender, make.provider(name="Alpha Formation"), price_per_trainee_cents=99_000
    )
    other = make.tender_response(tender, make.provider(name="Bêta Conseil"))
    expired = make.tender_response(
        tender, make.provider(name="Gamma Périmé", qualiopi_expires_on=TODAY - timedelta(days=20))
    )

    page = signed_in.get(url(tender))
    assert page.status_code == 200
    body = visible_text(page)
    for expected in (
        "Alpha Formation",
        "Bêta Conseil",
        "Gamma Périmé",
        "Mémoire technique spécifique au lot",
        "Certificat Qualiopi « Actions de formation » valide à la date limite de dépôt",
        "3 réponses en attente de décision sur la recevabilité",
        "Alpha Formation, Bêta Conseil, Gamma Périmé",
    ):
        assert expected in body, expected
    assert "✘" in page.get_data(as_text=True) and "✔" in page.get_data(as_text=True)

    # Admissibility: the expired certificate blocks « recevable »; « irrecevable » needs a reason.
    response = signed_in.post(
        url(tender, f"/reponses/{expired.id}/recevabilite"),
        data={"decision": "admissible", **ALL_CHECKED},
        follow_redirects=True,
    )
    assert "ne peut pas être déclarée recevable" in " ".join(flashes(response))
    response = signed_in.post(
        url(tender, f"/reponses/{expired.id}/recevabilite"),
        data={"decision": "inadmissible", "reason": ""},
        follow_redirects=True,
    )
    assert "Indiquez le motif d'irrecevabilité." in flashes(response)
    signed_in.post(
        url(tender, f"/reponses/{expired.id}/recevabilite"),
        data={"decision": "inadmissible", "reason": "Qualiopi expiré à la date limite."},
    )
    for r in (winner, other):
        response = signed_in.post(
            url(tender, f"/reponses/{r.id}/recevabilite"), data={"decision": "admissible", **ALL_CHECKED}
        )
        assert response.status_code == 303
    assert db.session.get(TenderResponse, expired.id).status == ResponseStatus.INADMISSIBLE

    # Scoring needs the declaration first.
    response = signed_in.post(
        url(tender, f"/reponses/{winner.id}/notes"),
        data=sheet_form(tender, 4, 3, 5, 2),
        follow_redirects=True,
    )
    assert "Signez d'abord la déclaration" in " ".join(flashes(response))
    response = signed_in.post(url(tender, "/declaration"), data={}, follow_redirects=True)
    assert "Cochez la case" in " ".join(flashes(response))
    response = signed_in.post(url(tender, "/declaration"), data={"accept": "y"}, follow_redirects=True)
    assert "déclaration d'absence de conflit d'intérêts est signée" in " ".join(flashes(response))

    # A sheet without justification is refused next to the field, typed values kept.
    bad = sheet_form(tender, 4, 3, 5, 2)
    bad[f"justification_{tender.criteria[1].id}"] = ""
    response = signed_in.post(url(tender, f"/reponses/{winner.id}/notes"), data=bad)
    assert response.status_code == 422
    assert "« Équipe et moyens » : justifiez la note (pas de point sans justification)." in visible_text(
        response
    )
    assert "Preuves dans le mémoire." in response.get_data(as_text=True)
    assert db.session.scalar(select(ScoreSheet.id)) is None

    signed_in.post(
        url(tender, f"/reponses/{winner.id}/notes"), data=sheet_form(tender, 4, 3, 5, 2, submit=False)
    )
    page = visible_text(signed_in.get(url(tender)))
    assert "(brouillon)" in page
    assert "Le classement s'affiche quand vous avez envoyé votre grille" in page
    signed_in.post(url(tender, f"/reponses/{winner.id}/notes"), data=sheet_form(tender, 4, 3, 5, 2))
    signed_in.post(url(tender, f"/reponses/{other.id}/notes"), data=sheet_form(tender, 3, 3, 3, 3))

    page = visible_text(signed_in.get(url(tender)))
    assert "Classement du lot n° 1" in page
    assert "1 Alpha Formation 78,00" in page and "2 Bêta Conseil 60,00" in page
    assert "Votre grille est envoyée" in page

    # Award: the referencing and a draft action are created, everyone is told.
    lot = tender.lots[0]
    response = signed_in.post(
        url(tender, "/attribution"),
        data={
            f"lot_{lot.id}": str(winner.id),
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=700)).isoformat(),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "est attribué : 1 organisme référencé" in " ".join(flashes(response))
    assert "(brouillon à compléter puis publier)" in visible_text(response)
    referencing = db.session.scalar(select(Referencing))
    assert referencing.provider_id == winner.provider_id and referencing.price_cents == 99_000
    action = db.session.get(CollectiveAction, referencing.action_id)
    assert action.status == "draft" and action.reference == f"{tender.reference}-L1"
    assert {m.template for m in outbox()} == {"tender_result_retained", "tender_result_not_retained"}
    assert "rang 2 sur 2" in outbox(other.provider.memberships[0].user.email)[0].body_text

    registry = visible_text(signed_in.get(f"/opco/{akto.slug}/referencements"))
    assert "Alpha Formation" in registry and action.title in registry and "990,00 € HT" in registry


def test_a_single_award_lot_with_two_winners_is_refused(make, akto, admin, signed_in):
    from marketplace.services import evaluation, evaluation_scores

    tender = analysed(make, akto)
    responses = [make.tender_response(tender) for _ in range(2)]
    evaluation_scores.sign_declaration(tender, admin, True, NOW)
    for r in responses:
        evaluation.decide_admissibility(
            r,
            admin,
            akto,
            admissible=True,
            checklist={"specific_memoir": True, "prices_conform": True, "readable": True},
            reason=None,
            now=NOW,
        )
        evaluation_scores.save_scores(
            r, admin, {c.id: (4, "Bien.") for c in tender.criteria}, submit=True, now=NOW
        )
    db.session.commit()
    lot = tender.lots[0]
    response = signed_in.post(
        url(tender, "/attribution"),
        data=MultiDict(
            [
                (f"lot_{lot.id}", str(responses[0].id)),
                (f"lot_{lot.id}", str(responses[1].id)),
                ("valid_from", TODAY.isoformat()),
                ("valid_until", (TODAY + timedelta(days=30)).isoformat()),
            ]
        ),
        follow_redirects=True,
    )
    assert "mono-attributaire" in " ".join(flashes(response))
    assert db.session.get(type(tender), tender.id).status == TenderStatus.UNDER_ANALYSIS
    assert db.session.scalar(select(Referencing.id)) is None


def test_an_evaluator_sees_no_other_sheet_before_submitting(make, akto, admin, client, login):
    from marketplace.services import evaluation, evaluation_scores

    tender = analysed(make, akto)
    response = make.tender_response(tender, make.provider(name="Delta Formation"))
    evaluation.decide_admissibility(
        response,
        admin,
        akto,
        admissible=True,
        checklist={"specific_memoir": True, "prices_conform": True, "readable": True},
        reason=None,
        now=NOW,
    )
    evaluation_scores.sign_declaration(tender, admin, True, NOW)
    evaluation_scores.save_scores(
        response,
        admin,
        {c.id: (5, "Remarquable, preuve jointe.") for c in tender.criteria},
        submit=True,
        now=NOW,
    )
    db.session.commit()
    evaluator = make.user(full_name="Élise Évaluatrice")
    make.member(akto, evaluator, "evaluator")
    login(client, evaluator)

    page = visible_text(client.get(url(tender)))
    assert "Remarquable, preuve jointe." not in page
    assert "1 grille envoyée par d'autres évaluateurs" in page
    assert "Classement du lot" not in page and "Attribution" not in page
    assert client.post(url(tender, "/attribution"), data={}).status_code == 403
    assert client.post(url(tender, f"/reponses/{response.id}/recevabilite"), data={}).status_code == 403

    client.post(url(tender, "/declaration"), data={"accept": "y"})
    client.post(
        url(tender, f"/reponses/{response.id}/notes"),
        data={**sheet_form(tender, 3, 3, 3, 3), "submit_sheet": "1"},
    )
    page = visible_text(client.get(url(tender)))
    assert "Remarquable, preuve jointe." in page and "Grille de Annie Acheteuse" in page
    assert "Classement du lot n° 1" in page and "80,00" in page  # (100 + 60) / 2
    # A submitted sheet is read-only.
    again = client.post(
        url(tender, f"/reponses/{response.id}/notes"),
        data=sheet_form(tender, 5, 5, 5, 5),
        follow_redirects=True,
    )
    assert "ne peut plus être modifiée" in " ".join(flashes(again))


def test_evaluation_peek_refused_to_the_administrator_until_their_own_sheet_is_sent(
    make, akto, admin, signed_in
):
    """While an evaluator has not sent their sheet, the administrator who does not score sees neither the other
    scores nor the ranking (the page used to show them to any manager without a sheet); once they sign the
    statement they score, and see the others' sheets only after sending their own."""
    from marketplace.services import evaluation, evaluation_scores

    tender = analysed(make, akto)
    response = make.tender_response(tender, make.provider(name="Delta Formation"))
    evaluation.decide_admissibility(
        response,
        admin,
        akto,
        admissible=True,
        checklist={"specific_memoir": True, "prices_conform": True, "readable": True},
        reason=None,
        now=NOW,
    )
    evaluator = make.user(full_name="Élise Évaluatrice")
    make.member(akto, evaluator, "evaluator")
    evaluation_scores.sign_declaration(tender, evaluator, True, NOW)
    evaluation_scores.save_scores(
        response,
        evaluator,
        {c.id: (5, "Remarquable, preuve jointe.") for c in tender.criteria},
        submit=True,
        now=NOW,
    )
    slow = make.user(full_name="Bruno Lent")
    make.member(akto, slow, "evaluator")
    evaluation_scores.sign_declaration(tender, slow, True, NOW)  # has not sent his sheet yet
    db.session.commit()

    page = signed_in.get(url(tender))
    assert page.status_code == 200
    body = visible_text(page)
    assert "Delta Formation" in body  # the response itself is there to be read
    for secret in (
        "Remarquable, preuve jointe.",
        "Grille de Élise Évaluatrice",
        "100,00",
        "Classement du lot",
        "Attribuer l'appel d'offres",
        "5/5",
    ):
        assert secret not in body, secret
    assert "1 grille envoyée par d'autres évaluateurs" in body
    assert "Le classement s'affiche quand chaque évaluateur a envoyé sa grille" in body
    refused = signed_in.post(
        url(tender, "/attribution"),
        data={
            f"lot_{tender.lots[0].id}": str(response.id),
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "chaque évaluateur doit d'abord envoyer sa grille" in visible_text(refused)
    assert "Remarquable, preuve jointe." not in visible_text(refused)
    assert db.session.get(type(tender), tender.id).status == TenderStatus.UNDER_ANALYSIS

    signed_in.post(url(tender, "/declaration"), data={"accept": "y"})
    body = visible_text(signed_in.get(url(tender)))
    assert "Remarquable, preuve jointe." not in body and "Classement du lot" not in body
    assert "Le classement s'affiche quand vous avez envoyé votre grille" in body
    signed_in.post(
        url(tender, f"/reponses/{response.id}/notes"), data=sheet_form(tender, 3, 3, 3, 3, submit=False)
    )
    body = visible_text(signed_in.get(url(tender)))
    assert (
        "Remarquable, preuve jointe." not in body and "Classement du lot" not in body
    )  # a draft is not enough

    signed_in.post(url(tender, f"/reponses/{response.id}/notes"), data=sheet_form(tender, 3, 3, 3, 3))
    body = visible_text(signed_in.get(url(tender)))
    assert "Remarquable, preuve jointe." in body and "Grille de Élise Évaluatrice" in body
    assert "Classement du lot n° 1" in body and "80,00" in body and "Attribuer l'appel d'offres" in body


def test_a_manager_who_does_not_score_awards_once_the_evaluators_have_sent(make, akto, admin, signed_in):
    from marketplace.services import evaluation, evaluation_scores

    tender = analysed(make, akto)
    response = make.tender_response(tender, make.provider(name="Delta Formation"))
    evaluation.decide_admissibility(
        response,
        admin,
        akto,
        admissible=True,
        checklist={"specific_memoir": True, "prices_conform": True, "readable": True},
        reason=None,
        now=NOW,
    )
    evaluator = make.user(full_name="Élise Évaluatrice")
    make.member(akto, evaluator, "evaluator")
    evaluation_scores.sign_declaration(tender, evaluator, True, NOW)
    evaluation_scores.save_scores(
        response, evaluator, {c.id: (4, "Solide.") for c in tender.criteria}, submit=True, now=NOW
    )
    db.session.commit()

    body = visible_text(signed_in.get(url(tender)))
    assert "Classement du lot n° 1" in body and "80,00" in body and "Attribuer l'appel d'offres" in body
    refused = signed_in.post(url(tender, "/declaration"), data={"accept": "y"})
    assert refused.status_code == 422
    assert "vous ne pouvez donc plus noter cet appel d'offres" in visible_text(refused)
    assert evaluation_scores.declaration_of(tender, admin) is None


def test_before_the_deadline_the_responses_stay_sealed(make, akto, signed_in):
    tender = make.tender(akto, status="published")
    response = make.tender_response(tender, make.provider(name="Trop Tôt Formation"))
    page = signed_in.get(url(tender))
    assert page.status_code == 200
    assert "Trop Tôt Formation" not in visible_text(page)
    assert "Les réponses restent scellées jusqu'à la date limite de dépôt" in visible_text(page)
    assert signed_in.get(document_url(tender, response.documents[0])).status_code == 404


def test_the_page_shows_a_tender_past_its_deadline_as_closed_without_writing(make, akto, signed_in):
    tender = make.tender(
        akto,
        status="published",
        submission_deadline=NOW - timedelta(minutes=5),
        questions_deadline=NOW - timedelta(days=3),
    )
    make.tender_response(tender, make.provider(name="À l'heure Formation"))
    with count_queries() as statements:
        page = visible_text(signed_in.get(url(tender)))
    assert "L'analyse n'est pas commencée." in page and "Clos" in page
    assert "À l'heure Formation" in page
    assert writes(statements) == []
    assert db.session.get(type(tender), tender.id).status == TenderStatus.PUBLISHED
    # The OPCO can analyse: the button's POST closes it for good, then opens the analysis.
    response = signed_in.post(
        f"/opco/{akto.slug}/appels-d-offres/{tender.id}/etat", data={"event": "start_analysis"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(tender), tender.id).status == TenderStatus.UNDER_ANALYSIS


def test_documents_are_served_to_the_opco_after_the_deadline_only(make, akto, signed_in):
    tender = analysed(make, akto, status="closed")
    response = make.tender_response(tender)
    download = signed_in.get(document_url(tender, response.documents[0]))
    assert download.status_code == 200
    assert download.data.startswith(b"%PDF")
    assert "attachment" in download.headers["Content-Disposition"]


def test_another_opcos_tender_and_documents_answer_404(make, akto, signed_in):
    atlas_tender = analysed(make, make.opco("atlas"), status="closed")
    atlas_response = make.tender_response(atlas_tender)
    assert signed_in.get(f"/opco/{akto.slug}/appels-d-offres/{atlas_tender.id}/evaluation").status_code == 404
    own = analysed(make, akto, status="closed")
    # Another OPCO's document under one's own tender, and under the other OPCO's slug.
    document = atlas_response.documents[0]
    assert (
        signed_in.get(f"/opco/{akto.slug}/appels-d-offres/{own.id}/documents/{document.id}").status_code
        == 404
    )
    assert signed_in.get(document_url(atlas_tender, document)).status_code == 404
    assert (
        signed_in.post(
            f"/opco/{akto.slug}/appels-d-offres/{own.id}/evaluation/reponses/{atlas_response.id}/recevabilite",
            data={"decision": "inadmissible", "reason": "x"},
        ).status_code
        == 404
    )
    assert db.session.get(TenderResponse, atlas_response.id).status == ResponseStatus.SUBMITTED


def test_a_draft_or_withdrawn_response_is_never_shown_to_the_opco(make, akto, signed_in):
    tender = analysed(make, akto, status="closed")
    draft = make.tender_response(tender, make.provider(name="Brouillon Formation"), status="draft")
    page = visible_text(signed_in.get(url(tender)))
    assert "Brouillon Formation" not in page and "Aucune réponse reçue pour ce lot." in page
    assert signed_in.get(document_url(tender, draft.documents[0])).status_code == 404


# --- Registry -------------------------------------------------------------------------------------------


def test_registry_filters_and_suspends_with_a_reason(make, akto, signed_in, outbox):
    first = make.action(akto, title="Bureautique avancée")
    second = make.action(akto, title="Sécurité incendie")
    provider = make.provider(name="Omega Formation")
    referencing = make.referencing(first, provider)
    make.referencing(second, make.provider(name="Sigma Formation"), status="suspended")
    base = f"/opco/{akto.slug}/referencements"

    page = visible_text(signed_in.get(base))
    assert "Omega Formation" in page and "Sigma Formation" in page and "2 référencements." in page
    page = visible_text(signed_in.get(f"{base}?action={first.id}"))
    assert "Omega Formation" in page and "Sigma Formation" not in page
    page = visible_text(signed_in.get(f"{base}?statut=suspended"))
    assert "Sigma Formation" in page and "Omega Formation" not in page

    response = signed_in.post(
        f"{base}/{referencing.id}/etat", data={"event": "suspend", "reason": ""}, follow_redirects=True
    )
    assert "Indiquez le motif pour suspendre ce référencement." in flashes(response)
    assert db.session.get(Referencing, referencing.id).status == "active"

    response = signed_in.post(
        f"{base}/{referencing.id}/etat?action={first.id}",
        data={"event": "suspend", "reason": "Plaintes de stagiaires"},
    )
    assert response.status_code == 303 and f"action={first.id}" in response.headers["Location"]
    assert db.session.get(Referencing, referencing.id).status == "suspended"
    assert "Plaintes de stagiaires" in outbox(provider.memberships[0].user.email)[0].body_text
    page = visible_text(signed_in.get(base))
    assert "Motif : Plaintes de stagiaires" in page

    signed_in.post(f"{base}/{referencing.id}/etat", data={"event": "reactivate"})
    assert db.session.get(Referencing, referencing.id).status == "active"
    signed_in.post(f"{base}/{referencing.id}/etat", data={"event": "withdraw", "reason": "Fin du marché"})
    assert db.session.get(Referencing, referencing.id).status == "withdrawn"


def test_registry_of_another_opco_is_not_reachable(make, akto, signed_in):
    foreign = make.referencing(make.action(make.opco("atlas")))
    response = signed_in.post(
        f"/opco/{akto.slug}/referencements/{foreign.id}/etat", data={"event": "suspend", "reason": "x"}
    )
    assert response.status_code == 404
    assert db.session.get(Referencing, foreign.id).status == "active"


def test_an_expired_organisation_trying_to_open_a_session_gets_suspended(make, akto, client, login):
    from tests.web.test_provider_sessions import form_data

    provider = make.provider(qualiopi_expires_on=TODAY - timedelta(days=1))
    referencing = make.referencing(make.action(akto), provider)
    login(client, provider.memberships[0].user)
    response = client.post(f"/of/{provider.slug}/sessions/nouvelle", data=form_data(referencing.id))
    assert response.status_code == 422
    assert "vous ne pouvez pas ouvrir de session" in visible_text(response)
    assert db.session.get(Referencing, referencing.id).status == "suspended"
    assert db.session.scalar(select(TrainingSession.id)) is None


def test_no_award_form_while_an_admissible_response_is_unscored(make, akto, admin, signed_in):
    """A tender manager sees the award form only once every admissible response has a submitted sheet."""
    tender = analysed(make, akto)
    response = make.tender_response(tender, make.provider(name="Delta Formation"))
    signed_in.post(
        url(tender, f"/reponses/{response.id}/recevabilite"), data={"decision": "admissible", **ALL_CHECKED}
    )
    body = visible_text(signed_in.get(url(tender)))
    assert "Envoyez vos grilles pour chaque réponse recevable" in body
    assert "Attribuer l'appel d'offres" not in body

    signed_in.post(url(tender, "/declaration"), data={"accept": "y"})
    signed_in.post(url(tender, f"/reponses/{response.id}/notes"), data=sheet_form(tender, 4, 4, 3, 5))
    body = visible_text(signed_in.get(url(tender)))
    assert "Envoyez vos grilles pour chaque réponse recevable" not in body
    assert "Choisissez la réponse retenue pour chaque lot" in body
