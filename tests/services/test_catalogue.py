"""OPCO catalogue rules: action validation, the action and referencing state machines, funding preview, reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    ActionStatus,
    AuditEvent,
    CollectiveAction,
    Referencing,
    ReferencingStatus,
    TrainingSession,
)
from marketplace.services import catalogue, catalogue_reads, french_numbers, referencings
from marketplace.services.action_input import ActionInput, InvalidAction
from marketplace.services.errors import DomainError
from marketplace.services.pagination import paginate

TODAY = paris_today()


@pytest.fixture
def akto(make):
    return make.opco("akto")


@pytest.fixture
def staff(make, akto):
    user = make.user()
    make.member(akto, user, "catalogue_manager")
    return user


def valid_input(**changes) -> ActionInput:
    data = ActionInput(
        title="Manager une équipe de proximité",
        reference="AC-2026-001",
        theme_code="31",
        modality="presentiel",
        duration_hours="10,5",
        campaign_year=str(TODAY.year),
        price="1 200,50",
        objectives="Animer une équipe, conduire un entretien annuel.",
        programme="Jour 1 : posture. Jour 2 : entretiens.",
        funding_shares={"<11": "100", "11-49": "100", "50-249": "50 %", "250-299": "", "300+": None},
        cap_per_company_per_session="3",
        cap_per_company_per_year="6",
        cancellation_days="10",
        requires_approval=True,
    )
    return replace(data, **changes)


def events(action_name: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action_name).order_by(AuditEvent.id))
    )


def count_actions() -> int:
    return db.session.scalar(select(func.count(CollectiveAction.id)))


# --- Creating and editing actions -------------------------------------------------------------------------


def test_create_action_reads_french_numbers_and_stores_explicit_eligibility(akto, staff):
    action = catalogue.create_action(akto, valid_input(), staff)
    db.session.commit()

    assert action.status == ActionStatus.DRAFT
    assert action.price_cents == 120_050
    assert action.duration_hours == Decimal("10.50")
    assert action.campaign_year == TODAY.year
    assert action.is_national and action.region_codes == []
    # No branch ticked: every branch the OPCO covers, stored one row each.
    assert sorted(action.idcc_codes) == sorted(akto.idcc_codes) and len(akto.idcc_codes) > 1
    assert {s.size_band: s.percent for s in action.funding_shares} == {"<11": 100, "11-49": 100, "50-249": 50}
    assert action.share_for("300+") is None
    assert (action.cap_per_company_per_session, action.cap_per_company_per_year) == (3, 6)
    assert action.cancellation_days == 10 and action.requires_approval
    assert "ac-2026-001" in action.search_text and "manager une équipe" in action.search_text
    assert "equipe" in action.search_text  # accent-free copy for searches typed without accents
    [event] = events("catalogue.action_created")
    assert event.organisation_id == akto.id and event.actor_id == staff.id


def test_regional_action_keeps_its_regions_and_chosen_branches(akto, staff):
    branch = akto.idcc_codes[0]
    action = catalogue.create_action(
        akto, valid_input(is_national=False, region_codes=["84", "11"], idcc_codes=[branch]), staff
    )
    assert not action.is_national
    assert sorted(action.region_codes) == ["11", "84"]
    assert action.idcc_codes == [branch]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "Indiquez l'intitulé de l'action."),
        ({"reference": ""}, "reference", "Indiquez la référence de l'action"),
        ({"theme_code": "999"}, "theme_code", "Choisissez un thème dans la liste."),
        ({"modality": "hybride"}, "modality", "Choisissez une modalité"),
        ({"duration_hours": "0"}, "duration_hours", "La durée doit être supérieure à 0 heure."),
        ({"duration_hours": "-3"}, "duration_hours", "La durée doit être un nombre d'heures"),
        ({"duration_hours": "dix"}, "duration_hours", "La durée doit être un nombre d'heures"),
        (
            {"campaign_year": str(TODAY.year + 3)},
            "campaign_year",
            "L'année de campagne doit être comprise entre",
        ),
        (
            {"campaign_year": str(TODAY.year - 2)},
            "campaign_year",
            f"entre {TODAY.year - 1} et {TODAY.year + 2}",
        ),
        ({"price": "douze euros"}, "price", "Le prix par stagiaire doit être un montant en euros"),
        ({"price": "0"}, "price", "Le prix par stagiaire doit être supérieur à 0 €."),
        ({"price": "12,345"}, "price", "pas avoir plus de deux chiffres après la virgule"),
        ({"is_national": False, "region_codes": []}, "region_codes", "Cochez au moins une région"),
        (
            {"is_national": False, "region_codes": ["99"]},
            "region_codes",
            "Une des régions cochées n'existe pas.",
        ),
        ({"idcc_codes": ["1486"]}, "idcc_codes", "ne sont pas couvertes par votre OPCO : IDCC 1486"),
        ({"funding_shares": {"<11": "150"}}, "share_lt11", "Moins de 11 salariés : la part prise en charge"),
        ({"funding_shares": {"300+": "beaucoup"}}, "share_300plus", "300 salariés et plus : la part"),
        (
            {"cap_per_company_per_session": "0"},
            "cap_per_company_per_session",
            "par session doit être un nombre",
        ),
        (
            {"cap_per_company_per_session": "5", "cap_per_company_per_year": "2"},
            "cap_per_company_per_year",
            "ne peut pas être inférieur au plafond par session",
        ),
        (
            {"cancellation_days": "-1"},
            "cancellation_days",
            "Le délai d'annulation doit être un nombre entier",
        ),
    ],
)
def test_invalid_action_is_refused_in_french_and_nothing_is_saved(akto, staff, changes, field, message):
    with pytest.raises(InvalidAction) as caught:
        catalogue.create_action(akto, valid_input(**changes), staff)
    db.session.rollback()
    assert message in caught.value.errors[field]
    assert count_actions() == 0
    assert events("catalogue.action_created") == []


def test_every_wrong_field_is_reported_at_once(akto, staff):
    with pytest.raises(InvalidAction) as caught:
        catalogue.create_action(akto, valid_input(title="", duration_hours="0", price="abc"), staff)
    assert set(caught.value.errors) == {"title", "duration_hours", "price"}


def test_reference_is_unique_within_the_opco_only(make, akto, staff):
    catalogue.create_action(akto, valid_input(), staff)
    db.session.commit()
    with pytest.raises(InvalidAction) as caught:
        catalogue.create_action(akto, valid_input(reference="ac-2026-001", title="Autre"), staff)
    db.session.rollback()
    assert "déjà utilisée" in caught.value.errors["reference"]
    # Another OPCO may use the same reference.
    atlas = make.opco("atlas")
    catalogue.create_action(atlas, valid_input(), staff)
    db.session.commit()
    assert count_actions() == 2


def test_other_price_spellings_are_read(akto, staff):
    for raw, cents in [("950", 95_000), ("1200.5", 120_050), ("1.200,50", 120_050), ("1 200,50 €", 120_050)]:
        assert french_numbers.parse_euros(raw) == cents


def test_published_action_can_be_edited_except_its_reference_and_edits_are_audited(akto, staff):
    action = catalogue.create_action(akto, valid_input(), staff)
    catalogue.transition(action, "publish", staff)
    db.session.commit()

    changed = catalogue.update_action(
        action,
        valid_input(title="Manager une équipe (nouvelle version)", funding_shares={"<11": "80"}),
        staff,
    )
    db.session.commit()
    assert action.status == ActionStatus.PUBLISHED
    assert action.title == "Manager une équipe (nouvelle version)"
    assert {s.size_band: s.percent for s in action.funding_shares} == {"<11": 80}
    assert set(changed) == {"title", "shares"}
    [event] = events("catalogue.action_updated")
    assert event.data["changed"] == changed
    assert event.data["before"]["shares"] == {"<11": 100, "11-49": 100, "50-249": 50}

    with pytest.raises(InvalidAction) as caught:
        catalogue.update_action(action, valid_input(reference="AC-AUTRE"), staff)
    db.session.rollback()
    assert "ne peut plus être modifiée" in caught.value.errors["reference"]
    assert db.session.get(CollectiveAction, action.id).reference == "AC-2026-001"


def test_the_sessions_take_the_new_title_and_duration_of_their_action(make, akto, staff):
    """The sessions carry copies of the action's title and duration (the catalogue sorts on them from an
    index): an edit of the action changes them on every session, in the same transaction."""
    action = catalogue.create_action(akto, valid_input(), staff)
    catalogue.transition(action, "publish", staff)
    db.session.commit()
    sessions = [make.session(action), make.session(action)]
    other = make.session(make.action(akto, title="Autre action", duration_hours="7"))
    assert {(s.action_title, s.action_duration_hours) for s in sessions} == {
        ("Manager une équipe de proximité", Decimal("10.50"))
    }

    catalogue.update_action(action, valid_input(title="Manager à distance", duration_hours="14"), staff)
    assert sessions[0].action_title == "Manager à distance"  # the objects already loaded too
    db.session.commit()
    copies = db.session.execute(
        select(TrainingSession.id, TrainingSession.action_title, TrainingSession.action_duration_hours)
    ).all()
    assert {tuple(row) for row in copies} == {
        (sessions[0].id, "Manager à distance", Decimal("14.00")),
        (sessions[1].id, "Manager à distance", Decimal("14.00")),
        (other.id, "Autre action", Decimal("7.00")),
    }


def test_draft_reference_can_change_and_branches_and_regions_resync(akto, staff):
    action = catalogue.create_action(akto, valid_input(), staff)
    db.session.commit()
    branch = akto.idcc_codes[1]
    catalogue.update_action(
        action,
        valid_input(reference="AC-2026-002", is_national=False, region_codes=["84"], idcc_codes=[branch]),
        staff,
    )
    db.session.commit()
    catalogue.update_action(
        action,
        valid_input(reference="AC-2026-002", is_national=False, region_codes=["84", "93"], idcc_codes=[]),
        staff,
    )
    db.session.commit()
    assert action.reference == "AC-2026-002"
    assert sorted(action.region_codes) == ["84", "93"]
    assert sorted(action.idcc_codes) == sorted(akto.idcc_codes)


def test_ceiling_cannot_go_below_a_negotiated_price(make, akto, staff):
    action = catalogue.create_action(akto, valid_input(), staff)
    db.session.commit()
    provider = make.provider(name="Formations du Rhône")
    referencings.reference_provider(action, provider, TODAY, TODAY + timedelta(days=300), 110_000, staff)
    db.session.commit()
    with pytest.raises(InvalidAction) as caught:
        catalogue.update_action(action, valid_input(price="1 000"), staff)
    db.session.rollback()
    assert (
        "inférieur au prix négocié avec Formations du Rhône (1\u202f100,00\u00a0€ HT)"
        in caught.value.errors["price"]
    )
    assert db.session.get(CollectiveAction, action.id).price_cents == 120_050


# --- Action state machine ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        ("draft", "publish", "published"),
        ("draft", "archive", "archived"),
        ("published", "archive", "archived"),
        ("archived", "unarchive", "draft"),
    ],
)
def test_allowed_action_transitions(make, staff, start, event, end):
    action = make.action(status=start)
    previous = catalogue.transition(action, event, staff)
    db.session.commit()
    assert (previous, action.status) == (start, end)
    [audit] = events(f"action.{event}")
    assert audit.data["from"] == start and audit.data["to"] == end
    assert audit.object_id == action.id and audit.organisation_id == action.opco_id


@pytest.mark.parametrize(
    ("start", "event"),
    [
        ("published", "publish"),
        ("archived", "publish"),
        ("archived", "archive"),
        ("draft", "unarchive"),
        ("published", "unarchive"),
    ],
)
def test_refused_action_transitions(make, staff, start, event):
    action = make.action(status=start)
    with pytest.raises(DomainError) as caught:
        catalogue.transition(action, event, staff)
    db.session.rollback()
    assert "n'est pas possible quand l'état est" in caught.value.message
    assert db.session.get(CollectiveAction, action.id).status == start
    assert events(f"action.{event}") == []


def test_publishing_stamps_the_publication_date(make, staff):
    action = make.action(status="draft")
    assert action.published_at is None
    catalogue.transition(action, "publish", staff)
    db.session.commit()
    assert action.published_at == paris_today()


@pytest.mark.parametrize(
    ("factory_args", "reason"),
    [
        ({"objectives": ""}, "indiquez les objectifs de la formation"),
        ({"shares": {}}, "au moins une tranche d'effectif"),
        ({"idcc_codes": []}, "au moins une branche (IDCC)"),
    ],
)
def test_an_incomplete_action_cannot_be_published(make, staff, factory_args, reason):
    action = make.action(status="draft", **factory_args)
    with pytest.raises(DomainError) as caught:
        catalogue.transition(action, "publish", staff)
    db.session.rollback()
    assert caught.value.message.startswith("Publication impossible : ")
    assert reason in caught.value.message
    assert db.session.get(CollectiveAction, action.id).status == "draft"


# --- Funding preview --------------------------------------------------------------------------------------


def test_funding_preview_per_size_band(make):
    action = make.action(price_cents=100_000, shares={"<11": 100, "11-49": 75, "50-249": 50})
    rows = {row.size_band: row for row in catalogue.funding_preview(action)}
    assert [r.size_band for r in catalogue.funding_preview(action)] == [
        "<11",
        "11-49",
        "50-249",
        "250-299",
        "300+",
    ]
    assert (rows["<11"].share_percent, rows["<11"].funded_cents, rows["<11"].remainder_cents) == (
        100,
        100_000,
        0,
    )
    assert (rows["11-49"].funded_cents, rows["11-49"].remainder_cents) == (75_000, 25_000)
    assert (rows["50-249"].funded_cents, rows["50-249"].remainder_cents) == (50_000, 50_000)
    assert not rows["250-299"].eligible and rows["250-299"].funded_cents == 0
    assert rows["300+"].remainder_cents == 100_000


def test_funding_preview_rounds_to_the_cent(make):
    action = make.action(price_cents=33_333, shares={"<11": 50, "11-49": 33})
    rows = {row.size_band: row for row in catalogue.funding_preview(action)}
    assert (rows["<11"].funded_cents, rows["<11"].remainder_cents) == (16_667, 16_666)
    assert (rows["11-49"].funded_cents, rows["11-49"].remainder_cents) == (11_000, 22_333)
    assert catalogue.max_share(action) == 50


# --- Referencings -----------------------------------------------------------------------------------------


def test_reference_a_provider(make, staff):
    action = make.action(price_cents=100_000)
    provider = make.provider(name="Campus Formation")
    referencing = referencings.reference_provider(
        action, provider, TODAY, TODAY + timedelta(days=365), 90_000, staff
    )
    db.session.commit()
    assert referencing.status == ReferencingStatus.ACTIVE
    assert (referencing.opco_id, referencing.action_id, referencing.provider_id) == (
        action.opco_id,
        action.id,
        provider.id,
    )
    assert referencing.price_cents == 90_000 and referencing.is_valid_on(TODAY)
    [event] = events("catalogue.provider_referenced")
    assert event.data["provider"] == "Campus Formation" and event.data["price_cents"] == 90_000


def test_provider_with_expired_qualiopi_cannot_be_referenced(make, staff):
    action = make.action()
    expired_on = TODAY - timedelta(days=1)
    provider = make.provider(name="Ancien Organisme", qualiopi_expires_on=expired_on)
    with pytest.raises(DomainError) as caught:
        referencings.reference_provider(action, provider, TODAY, TODAY + timedelta(days=30), 50_000, staff)
    db.session.rollback()
    assert caught.value.message == (
        f"Le certificat Qualiopi d'Ancien Organisme a expiré le {expired_on:%d/%m/%Y} : un organisme sans "
        "certificat Qualiopi valide (« Actions de formation ») ne peut pas être référencé."
    )
    assert db.session.scalar(select(func.count(Referencing.id))) == 0


def test_provider_certified_for_other_categories_only_cannot_be_referenced(make, staff):
    provider = make.provider(name="Bilans & Co", qualiopi_categories=["bilans_competences"])
    with pytest.raises(DomainError) as caught:
        referencings.reference_provider(
            make.action(), provider, TODAY, TODAY + timedelta(days=30), 50_000, staff
        )
    assert "n'est pas certifié Qualiopi pour la catégorie « Actions de formation »" in caught.value.message


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "price", "field", "message"),
    [
        (
            TODAY,
            TODAY + timedelta(days=30),
            100_001,
            "price",
            "dépasse le prix plafond de l'action (1\u202f000,00\u00a0€ HT)",
        ),
        (TODAY, TODAY - timedelta(days=1), 50_000, "valid_until", "postérieure ou égale à la date de début"),
        (TODAY - timedelta(days=60), TODAY - timedelta(days=1), 50_000, "valid_until", "déjà passée"),
        (None, TODAY, 50_000, "valid_from", "Indiquez la date de début"),
        (TODAY, TODAY + timedelta(days=30), 0, "price", "Indiquez le prix négocié"),
    ],
)
def test_referencing_terms_are_checked(make, staff, valid_from, valid_until, price, field, message):
    action = make.action(price_cents=100_000)
    with pytest.raises(DomainError) as caught:
        referencings.reference_provider(action, make.provider(), valid_from, valid_until, price, staff)
    assert caught.value.field == field
    assert message in caught.value.message


def test_price_equal_to_the_ceiling_is_accepted(make, staff):
    action = make.action(price_cents=100_000)
    referencing = referencings.reference_provider(action, make.provider(), TODAY, TODAY, 100_000, staff)
    assert referencing.price_cents == 100_000


def test_provider_already_referenced_is_refused_and_archived_action_takes_none(make, staff):
    action = make.action()
    provider = make.provider(name="Déjà Là")
    make.referencing(action, provider)
    with pytest.raises(DomainError) as caught:
        referencings.reference_provider(action, provider, TODAY, TODAY + timedelta(days=3), 10_000, staff)
    assert caught.value.message == "Déjà Là est déjà référencé sur cette action."
    archived = make.action(status="archived")
    with pytest.raises(DomainError) as caught:
        referencings.reference_provider(
            archived, make.provider(), TODAY, TODAY + timedelta(days=3), 10_000, staff
        )
    assert "archivée" in caught.value.message


def test_the_referencing_form_names_only_an_organisation_it_offers(make, staff):
    action = make.action(price_cents=100_000)
    taken = make.provider()
    make.referencing(action, taken)
    for provider_id in (None, taken.id, 2_147_483_647):
        with pytest.raises(DomainError) as caught:
            referencings.reference_chosen_provider(action, provider_id, TODAY, TODAY, "900", staff)
        assert (caught.value.field, caught.value.message) == (
            "provider_id",
            "Choisissez un organisme de formation dans la liste.",
        )
    free = make.provider()
    referencing = referencings.reference_chosen_provider(action, free.id, TODAY, TODAY, "900,50", staff)
    assert (referencing.provider_id, referencing.price_cents) == (free.id, 90_050)


@pytest.mark.parametrize("far", [date(1999, 12, 31), date(2101, 1, 1), date(9999, 12, 31)])
def test_referencing_dates_stay_within_the_century(make, staff, far):
    action = make.action(price_cents=100_000)
    with pytest.raises(DomainError) as caught:
        referencings.reference_provider(action, make.provider(), TODAY, far, 50_000, staff)
    assert caught.value.message == "Indiquez une date comprise entre 2000 et 2100."


@pytest.mark.parametrize("typed", ["9" * 100_000, "1" + "0" * 5000 + ",00", "١٢", "²", "12\x00"])
def test_absurd_amounts_are_refused_in_french(typed):
    with pytest.raises(DomainError) as caught:
        french_numbers.parse_euros(typed, "price", "Le prix")
    assert caught.value.field == "price" and caught.value.message.startswith("Le prix")


def test_withdrawn_provider_is_referenced_again_on_the_same_row(make, staff):
    action = make.action()
    provider = make.provider()
    referencing = make.referencing(action, provider)
    referencings.transition_referencing(referencing, "withdraw", staff, reason="Marché terminé")
    db.session.commit()
    again = referencings.reference_provider(
        action, provider, TODAY, TODAY + timedelta(days=90), 80_000, staff
    )
    db.session.commit()
    assert again.id == referencing.id
    assert (again.status, again.price_cents, again.status_reason) == ("active", 80_000, None)
    assert len(events("referencing.renew")) == 1


def test_update_referencing(make, staff):
    action = make.action(price_cents=100_000)
    referencing = make.referencing(action, price_cents=90_000)
    referencings.update_referencing(referencing, TODAY, TODAY + timedelta(days=10), 95_000, staff)
    db.session.commit()
    assert (referencing.valid_until, referencing.price_cents) == (TODAY + timedelta(days=10), 95_000)
    [event] = events("catalogue.referencing_updated")
    assert event.data["before"]["price_cents"] == 90_000 and event.data["after"]["price_cents"] == 95_000
    with pytest.raises(DomainError) as caught:
        referencings.update_referencing(referencing, TODAY, TODAY + timedelta(days=10), 120_000, staff)
    assert caught.value.field == "price"


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        ("active", "suspend", "suspended"),
        ("suspended", "reactivate", "active"),
        ("active", "withdraw", "withdrawn"),
        ("suspended", "withdraw", "withdrawn"),
    ],
)
def test_allowed_referencing_transitions(make, staff, start, event, end):
    referencing = make.referencing(make.action(), status=start)
    referencings.transition_referencing(referencing, event, staff, reason="Contrôle qualité en cours")
    db.session.commit()
    assert referencing.status == end
    assert referencing.status_reason == ("Contrôle qualité en cours" if event != "reactivate" else None)
    [audit] = events(f"referencing.{event}")
    assert audit.data["from"] == start and audit.organisation_id == referencing.opco_id


@pytest.mark.parametrize(
    ("start", "event"),
    [
        ("suspended", "suspend"),
        ("active", "reactivate"),
        ("withdrawn", "suspend"),
        ("withdrawn", "reactivate"),
        ("withdrawn", "withdraw"),
    ],
)
def test_refused_referencing_transitions(make, staff, start, event):
    referencing = make.referencing(make.action(), status=start)
    with pytest.raises(DomainError) as caught:
        referencings.transition_referencing(referencing, event, staff, reason="Motif")
    db.session.rollback()
    assert "n'est pas possible quand l'état est" in caught.value.message
    assert db.session.get(Referencing, referencing.id).status == start


@pytest.mark.parametrize("event", ["suspend", "withdraw"])
def test_suspending_or_withdrawing_needs_a_reason(make, staff, event):
    referencing = make.referencing(make.action())
    with pytest.raises(DomainError) as caught:
        referencings.transition_referencing(referencing, event, staff, reason="   ")
    db.session.rollback()
    assert caught.value.message.startswith("Indiquez le motif pour")
    assert db.session.get(Referencing, referencing.id).status == "active"


# --- Reading the catalogue --------------------------------------------------------------------------------


def test_published_actions_search_ignores_accents_and_hides_drafts(make, akto, staff):
    securite = catalogue.create_action(
        akto,
        valid_input(title="Sécurité au travail", reference="AC-S", objectives="Prévenir les risques."),
        staff,
    )
    catalogue.transition(securite, "publish", staff)
    bureau = catalogue.create_action(akto, valid_input(title="Bureautique", reference="AC-B"), staff)
    catalogue.transition(bureau, "publish", staff)
    catalogue.create_action(akto, valid_input(title="Sécurité incendie", reference="AC-D"), staff)  # draft
    make.action(make.opco("atlas"), title="Sécurité chez Atlas")
    db.session.commit()

    def published(query):
        return paginate(catalogue_reads.published_actions_query(akto, query), 1)

    for query in ("securite", "Sécurité", "SÉCU", "risques prévenir"):
        page = published(query)
        assert [a.title for a in page.items] == ["Sécurité au travail"], query
        assert page.total == 1
    assert [a.title for a in published("").items] == ["Bureautique", "Sécurité au travail"]
    assert published("100%").total == 0  # LIKE wildcards are literal

    assert catalogue_reads.published_action(akto, securite.id) is securite
    assert catalogue_reads.published_action(make.opco("atlas"), securite.id) is None


def test_public_opcos_count_published_actions_only(make):
    akto = make.opco("akto")
    atlas = make.opco("atlas")
    make.action(akto)
    make.action(akto)
    make.action(akto, status="draft")
    make.action(akto, status="archived")
    counts = {opco.code: n for opco, n in catalogue_reads.public_opcos()}
    assert counts == {"akto": 2, "atlas": 0}
    assert atlas.code == "atlas"


def test_upcoming_open_sessions_are_counted_per_action(make):
    action = make.action()
    make.session(action, start=TODAY + timedelta(days=20))
    make.session(action, start=TODAY + timedelta(days=40))
    make.session(action, start=TODAY + timedelta(days=40), status="draft")
    make.session(action, start=TODAY - timedelta(days=5), status="open")
    assert catalogue_reads.upcoming_open_session_counts([action.id]) == {action.id: 2}
    assert catalogue_reads.session_counts([action.id]) == {action.id: 4}
    assert [s.start_date for s in catalogue_reads.upcoming_open_sessions(action)] == [
        TODAY + timedelta(days=20),
        TODAY + timedelta(days=40),
    ]


def test_an_old_action_keeps_its_campaign_year_when_edited(make, staff):
    action = make.action(campaign_year=TODAY.year - 3)
    catalogue.update_action(
        action,
        valid_input(reference=action.reference, campaign_year=str(TODAY.year - 3), title="Corrigé"),
        staff,
    )
    assert action.title == "Corrigé" and action.campaign_year == TODAY.year - 3
    with pytest.raises(InvalidAction):
        catalogue.update_action(
            action, valid_input(reference=action.reference, campaign_year=str(TODAY.year - 4)), staff
        )
