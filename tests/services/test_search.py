"""The company's catalogue search: what is listed, how each filter narrows, order, pages and figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import CollectiveAction, Enrolment, EnrolmentStatus, TrainingSession, utcnow
from marketplace.services.search import SearchFilters, fold, hours_fr, search_sessions, session_offer

TODAY = paris_today()


def _search(company, **args):
    now = utcnow()
    return search_sessions(company, SearchFilters.from_args({k: str(v) for k, v in args.items()}), TODAY, now)


def _titles(result) -> list[str]:
    return [row.action.title for row in result.rows]


def _searchable(action, extra: str = ""):
    """search_text as the catalogue service keeps it: lower-cased, accents folded."""
    action.search_text = fold(f"{action.reference} {action.title} {action.objectives} {extra}")
    db.session.commit()
    return action


def _offer_last_seat(session, company, make):
    """A live waiting-list offer on the session (holds a seat until it expires)."""
    employee = make.employee(company)
    db.session.add(
        Enrolment(
            session_id=session.id,
            company_id=company.id,
            employee_id=employee.id,
            opco_id=session.opco_id,
            provider_id=session.provider_id,
            status=EnrolmentStatus.OFFERED,
            price_cents=0,
            funded_cents=0,
            remainder_cents=0,
            size_band="11-49",
            waitlisted_at=utcnow(),
            offer_expires_at=utcnow() + timedelta(hours=24),
        )
    )
    db.session.commit()


@pytest.fixture
def company(make):
    return make.company("akto", headcount=20)


def test_fold_lowercases_and_removes_accents():
    assert fold("Sécurité ÉLECTRIQUE — Œuvre à façon") == "securite electrique — œuvre a facon"
    assert fold(None) == ""


def test_hours_are_written_the_french_way():
    from decimal import Decimal

    assert hours_fr(Decimal("7.00")) == "7\u00a0h"
    assert hours_fr(Decimal("3.50")) == "3,5\u00a0h"
    assert hours_fr(Decimal("70")) == "70\u00a0h"


def test_only_the_company_opco_published_future_listed_sessions(make, company):
    akto = make.opco("akto")
    atlas = make.opco("atlas")
    listed = make.action(akto, title="Visible")
    make.session(listed, status="open")
    make.session(listed, status="registrations_closed")
    make.session(listed, status="draft")
    make.session(listed, status="cancelled")
    make.session(listed, status="completed", start=TODAY - timedelta(days=20))
    make.session(listed, status="open", start=TODAY - timedelta(days=1))
    make.session(make.action(akto, title="Archivée", status="archived"))
    make.session(make.action(akto, title="Brouillon", status="draft"))
    make.session(make.action(atlas, title="Autre OPCO"))

    result = _search(company)

    assert _titles(result) == ["Visible", "Visible"]
    assert {row.session.status for row in result.rows} == {"open", "registrations_closed"}
    assert result.total == 2 and result.pages == 1


def test_company_without_opco_gets_nothing(make):
    make.session(make.action(make.opco("akto")))
    orphan = make.company(None)
    assert orphan.opco_id is None
    assert _search(orphan).total == 0


def test_each_filter_narrows_the_results(make, company):
    akto = make.opco("akto")
    provider = make.provider(name="Organisme Choisi")
    management = make.action(
        akto, title="Management", theme_code="31", modality="presentiel", duration_hours="14"
    )
    excel = make.action(akto, title="Excel", theme_code="32", modality="distanciel", duration_hours="7")
    long = make.action(akto, title="Long", theme_code="31", modality="mixte", duration_hours="35")
    make.session(management, start=TODAY + timedelta(days=10), region_code="84", city="Lyon")
    make.session(excel, provider, start=TODAY + timedelta(days=40), is_remote=True)
    make.session(long, start=TODAY + timedelta(days=90), region_code="11", city="Paris")

    assert sorted(_titles(_search(company, theme="31"))) == ["Long", "Management"]
    assert _titles(_search(company, modality="distanciel")) == ["Excel"]
    assert _titles(_search(company, region="11")) == ["Long"]
    assert _titles(
        _search(company, date_from=TODAY + timedelta(days=20), date_to=TODAY + timedelta(days=60))
    ) == ["Excel"]
    assert _titles(_search(company, date_to=TODAY + timedelta(days=10))) == ["Management"]
    assert _titles(_search(company, duration_min="14", duration_max="20")) == ["Management"]
    assert sorted(_titles(_search(company, duration_max="14"))) == ["Excel", "Management"]
    assert _titles(_search(company, duration_min="20,5")) == ["Long"]
    assert _titles(_search(company, provider_id=provider.id)) == ["Excel"]
    assert _titles(_search(company, theme="31", region="84")) == ["Management"]
    # Nonsense is ignored rather than refused: the listing stays usable.
    assert _search(company, modality="volant", duration_min="beaucoup", date_from="hier", sort="x").total == 3


def test_seats_only_leaves_out_full_sessions_and_sessions_held_by_live_offers(make, company):
    akto = make.opco("akto")
    free = make.session(make.action(akto, title="Places libres"), capacity_max=5)
    full = make.session(make.action(akto, title="Complète"), capacity_max=1)
    offered = make.session(make.action(akto, title="Dernière place proposée"), capacity_max=1)
    make.enrolment(full)
    _offer_last_seat(offered, company, make)

    everything = {row.action.title: row.seats_left for row in _search(company).rows}
    assert everything == {"Places libres": 5, "Complète": 0, "Dernière place proposée": 0}
    assert _titles(_search(company, seats_only="1")) == ["Places libres"]
    assert free.id in {row.session.id for row in _search(company, seats_only="on").rows}


def test_seats_only_keeps_a_session_with_seats_beyond_its_offers(make, company):
    """Offers hold seats; a session with more free seats than live offers still has places."""
    akto = make.opco("akto")
    two_offers = make.session(make.action(akto, title="Deux offres, trois places"), capacity_max=3)
    held = make.session(make.action(akto, title="Deux offres, deux places"), capacity_max=2)
    for session in (two_offers, two_offers, held, held):
        _offer_last_seat(session, company, make)

    everything = {row.action.title: row.seats_left for row in _search(company).rows}
    assert everything == {"Deux offres, trois places": 1, "Deux offres, deux places": 0}
    assert _titles(_search(company, seats_only="1")) == ["Deux offres, trois places"]


def test_text_search_with_or_without_accents_and_on_the_provider_name(make, company):
    akto = make.opco("akto")
    securite = _searchable(make.action(akto, title="Sécurité électrique", objectives="Habilitation B1V."))
    anglais = _searchable(make.action(akto, title="Anglais professionnel", objectives="Réunions en anglais."))
    academie = make.provider(name="Académie Lumière")
    make.session(securite)
    make.session(anglais, academie)

    assert _titles(_search(company, q="sécurité")) == ["Sécurité électrique"]
    assert _titles(_search(company, q="SECURITE")) == ["Sécurité électrique"]
    assert _titles(_search(company, q="habilitation")) == ["Sécurité électrique"]
    assert _titles(_search(company, q="academie")) == ["Anglais professionnel"]
    assert _titles(_search(company, q="Académie")) == ["Anglais professionnel"]
    # Every word must match, each in the action or in the organisation's name.
    assert _titles(_search(company, q="anglais lumière")) == ["Anglais professionnel"]
    assert _titles(_search(company, q="sécurité lumière")) == []
    # LIKE wildcards typed by the user are plain characters.
    assert _titles(_search(company, q="%")) == []
    assert _titles(_search(company, q="s_curit")) == []


def test_text_search_does_not_reach_another_opco(make, company):
    other = _searchable(make.action(make.opco("atlas"), title="Sécurité chez ATLAS"))
    make.session(other)
    assert _search(company, q="securite").total == 0


def test_sort_and_pagination(make, company):
    akto = make.opco("akto")
    b = make.action(akto, title="Bureautique", price_cents=30_000, duration_hours="21")
    a = make.action(akto, title="Anglais", price_cents=90_000, duration_hours="7")
    c = make.action(akto, title="Comptabilité", price_cents=60_000, duration_hours="14")
    make.session(b, start=TODAY + timedelta(days=30))
    make.session(a, start=TODAY + timedelta(days=50))
    make.session(c, start=TODAY + timedelta(days=10))

    assert _titles(_search(company)) == ["Comptabilité", "Bureautique", "Anglais"]
    assert _titles(_search(company, sort="date")) == ["Comptabilité", "Bureautique", "Anglais"]
    assert _titles(_search(company, sort="price")) == ["Bureautique", "Comptabilité", "Anglais"]
    assert _titles(_search(company, sort="duration")) == ["Anglais", "Comptabilité", "Bureautique"]
    assert _titles(_search(company, sort="title")) == ["Anglais", "Bureautique", "Comptabilité"]

    first = _search(company, sort="title", per_page=2)
    second = _search(company, sort="title", per_page=2, page=2)
    beyond = _search(company, sort="title", per_page=2, page=9)
    assert (first.total, first.pages, first.page, _titles(first)) == (3, 2, 1, ["Anglais", "Bureautique"])
    assert (second.page, _titles(second)) == (2, ["Comptabilité"])
    assert (beyond.page, _titles(beyond)) == (2, ["Comptabilité"])  # past the end: the last page


def _former_order(company, sort: str) -> list[int]:
    """The session ids in the order the search used before the copies: joined to the action, sorted on it."""
    column = {"title": CollectiveAction.title, "duration": CollectiveAction.duration_hours}[sort]
    return list(
        db.session.scalars(
            select(TrainingSession.id)
            .join(CollectiveAction, CollectiveAction.id == TrainingSession.action_id)
            .where(TrainingSession.opco_id == company.opco_id, TrainingSession.start_date >= TODAY)
            .order_by(column, TrainingSession.start_date, TrainingSession.id)
        )
    )


def _ids(company, sort: str) -> list[int]:
    return [row.session.id for row in _search(company, sort=sort, per_page=100).rows]


def test_sorts_on_the_action_follow_its_changes(make, company):
    """Sorted by title or duration, the sessions read their copies of the action's; the order is the one the
    join gave (ties on the title or duration by start date, then id), before and after the action changes."""
    akto = make.opco("akto")
    actions = [
        make.action(akto, title="Bureautique", duration_hours="21"),
        make.action(akto, title="Anglais", duration_hours="7"),
        make.action(akto, title="Comptabilité", duration_hours="14"),
        make.action(akto, title="Anglais", duration_hours="14"),
    ]
    for n, action in enumerate(actions * 2):
        make.session(action, start=TODAY + timedelta(days=40 - 3 * n))
    make.session(actions[0], start=TODAY + timedelta(days=31))  # the same day as another session
    make.session(actions[1], start=TODAY + timedelta(days=31))
    for sort in ("title", "duration"):
        assert _ids(company, sort) == _former_order(company, sort)

    actions[1].title = "Zoologie"  # an edit of the action reaches its sessions at once
    actions[2].duration_hours = Decimal("3.5")
    db.session.commit()
    first = _search(company, sort="title", per_page=100).rows
    assert [r.action.title for r in first][-3:] == ["Zoologie"] * 3
    for sort in ("title", "duration"):
        assert _ids(company, sort) == _former_order(company, sort)
    copies = db.session.execute(
        select(TrainingSession.action_title, TrainingSession.action_duration_hours).where(
            TrainingSession.action_id == actions[2].id
        )
    ).all()
    assert {tuple(row) for row in copies} == {("Comptabilité", Decimal("3.5"))}


def test_funding_for_two_size_bands(make):
    akto = make.opco("akto")
    action = make.action(akto, price_cents=120_000, shares={"<11": 100, "11-49": 80, "50-249": 50})
    make.session(action, make.provider(vat_regime="assujetti"))
    small = make.company("akto", headcount=5)
    medium = make.company("akto", headcount=120)
    large = make.company("akto", headcount=400)

    [row] = _search(small).rows
    assert (row.funding.share_percent, row.funding.funded_cents, row.funding.remainder_cents) == (
        100,
        120_000,
        0,
    )
    [row] = _search(medium).rows
    assert (row.funding.share_percent, row.funding.funded_cents, row.funding.remainder_cents) == (
        50,
        60_000,
        60_000,
    )
    assert row.funding.remainder_ttc_cents == 84_000  # 1 440 € TTC less the 600 € the OPCO pays (HT basis)
    assert row.blocker is None
    [row] = _search(large).rows
    assert not row.funding.eligible
    assert "taille" in row.blocker


def test_blocker_reasons(make, company):
    akto = make.opco("akto")
    other_branch = make.action(
        akto, title="Autre branche", idcc_codes=[c for c in akto.idcc_codes if c != company.idcc]
    )
    make.session(other_branch)
    late = make.session(
        make.action(akto, title="Trop tard"),
        start=TODAY + timedelta(days=3),
        registration_deadline=TODAY - timedelta(days=1),
    )
    full = make.session(make.action(akto, title="Complète"), capacity_max=1)
    make.enrolment(full)
    make.session(make.action(akto, title="Autres régions", regions=["84", "93"]))

    rows = {row.action.title: row for row in _search(company).rows}
    assert "réservée à d'autres branches" in rows["Autre branche"].blocker
    assert rows["Autres régions"].blocker == (
        "Cette action est réservée aux entreprises des régions : Auvergne-Rhône-Alpes, "
        "Provence-Alpes-Côte d'Azur."
    )
    assert rows["Trop tard"].blocker == (
        f"La date limite d'inscription ({(TODAY - timedelta(days=1)).strftime('%d/%m/%Y')}) est dépassée."
    )
    assert late.id == rows["Trop tard"].session.id
    # Full is not a refusal: the company may still join the waiting list.
    assert rows["Complète"].seats_left == 0 and rows["Complète"].blocker is None


def test_session_offer_for_the_detail_page(make, company):
    akto = make.opco("akto")
    session = make.session(make.action(akto, shares={"11-49": 50}), capacity_max=4)
    foreign = make.session(make.action(make.opco("atlas")))

    offer = session_offer(company, session.id, TODAY, utcnow())
    assert offer.seats_left == 4 and offer.funding.share_percent == 50 and offer.can_enrol
    assert offer.cancellation_deadline < session.start_date
    assert session_offer(company, foreign.id, TODAY, utcnow()) is None
    assert session_offer(company, 987_654, TODAY, utcnow()) is None


def test_filters_round_trip_through_url_arguments():
    filters = SearchFilters.from_args(
        {
            "q": "  sécurité   au travail ",
            "seats_only": "on",
            "date_from": "2030-01-02",
            "duration_min": "3,5",
            "sort": "price",
            "page": "3",
            "provider_id": "12",
        }
    )
    assert filters.q == "sécurité au travail"
    assert filters.to_args() == {
        "q": "sécurité au travail",
        "date_from": "2030-01-02",
        "duration_min": "3.5",
        "seats_only": "1",
        "provider_id": "12",
        "sort": "price",
    }
    assert SearchFilters.from_args(filters.to_args()) == SearchFilters(**{**filters.__dict__, "page": 1})
    assert SearchFilters.from_args({"page": "-4", "per_page": "100000"}).page == 1
    assert SearchFilters.from_args({"per_page": "100000"}).per_page == 100


def test_a_word_matches_through_the_action_or_the_organisation_whatever_else_it_is_in(make, company):
    """Each word is resolved into actions and training organisations: a word in some actions and in an
    organisation's name finds both; a word in every action (« de ») narrows nothing; a company or OPCO whose
    name holds the word does not count (only training organisations deliver sessions)."""
    akto = make.opco("akto")
    eclairage = _searchable(make.action(akto, title="Éclairage de scène", objectives="Lumière et couleurs."))
    paie = _searchable(make.action(akto, title="Paie de base", objectives="Bulletins de salaire."))
    gestes = _searchable(make.action(akto, title="Gestes de premiers secours", objectives="Alerter."))
    lumiere = make.provider(name="Académie Lumière")
    make.session(eclairage)
    make.session(paie, lumiere)
    make.session(gestes)
    make.company("akto", name="Entreprise Lumière et Secours")

    assert set(_titles(_search(company, q="lumière"))) == {"Éclairage de scène", "Paie de base"}
    assert set(_titles(_search(company, q="de lumiere"))) == {"Éclairage de scène", "Paie de base"}
    assert _titles(_search(company, q="lumière bulletins")) == ["Paie de base"]
    assert _titles(_search(company, q="secours")) == ["Gestes de premiers secours"]
    assert _search(company, q="de").total == 3
    assert _titles(_search(company, q="lu sc")) == ["Éclairage de scène"]
    assert _search(company, q="lumière alerter").total == 0
