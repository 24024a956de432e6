"""The text-search index (SQLite FTS5 trigram tables, PostgreSQL trigram indexes): same results as a
substring scan, kept in sync on every write, rebuilt by ``flask rebuild-search``, and actually used."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import CollectiveAction, Organisation, TrainingSession, utcnow
from marketplace.services import catalogue, catalogue_reads, search_index
from marketplace.services.search import SearchFilters, search_sessions
from marketplace.services.text import search_key

TODAY = paris_today()


def _titles(company, q: str) -> list[str]:
    now = utcnow()
    result = search_sessions(company, SearchFilters.from_args({"q": q}), TODAY, now)
    return sorted(row.action.title for row in result.rows)


@pytest.fixture
def company(make):
    return make.company("akto", headcount=20)


@pytest.fixture
def catalogue_rows(make):
    """Three actions of the company's OPCO, each with a session, two organisations with accented names."""
    akto = make.opco("akto")
    rows = {}
    for title, objectives, provider in [
        ("Sécurité électrique", "Habilitation B1V « niveau 1 »", "Académie Lumière"),
        ("Anglais professionnel", 'Réunions en anglais, 50 % d\'oral, "cas" réels', "Institut Œuvre"),
        ("Soudure TIG", "Procédés AND/OR NEAR* : c'est l'atelier", "Académie Lumière"),
    ]:
        action = make.action(akto, title=title)
        action.objectives = objectives
        action.search_text = catalogue.search_text_for(action)
        db.session.commit()
        organisation = db.session.scalar(select(Organisation).where(Organisation.name == provider))
        make.session(action, organisation or make.provider(name=provider))
        rows[title] = action
    return rows


def _expected(q: str) -> list[str]:
    """The former rule, computed in Python: every word in the action's text or the organisation's name."""
    titles = []
    for session in db.session.scalars(select(TrainingSession)):
        action, name = session.action, session.provider.name
        ok = True
        for word in q.lower().split():
            in_text = word in action.search_text or search_key(word) in action.search_text
            ok = ok and (in_text or search_key(word) in search_key(name))
        if ok:
            titles.append(action.title)
    return sorted(titles)


@pytest.mark.parametrize(
    "q",
    [
        "sécurité",
        "SECURITE",
        "lumière",
        "academie électrique",
        "œuvre",
        "oeuvre",
        "a",
        "é",
        "ti",
        "50 %",
        '"cas"',
        'cas"',
        '"',
        "and/or",
        "near*",
        "c'est",
        "(",
        "b1v « niveau",
        "introuvable",
    ],
)
def test_results_are_those_of_a_substring_scan(company, catalogue_rows, q):
    assert _titles(company, q) == _expected(q)


def test_kept_in_sync_on_every_write(make, company, catalogue_rows):
    soudure = catalogue_rows["Soudure TIG"]
    soudure.title = "Brasage tendre"
    soudure.search_text = catalogue.search_text_for(soudure)
    db.session.commit()
    assert _titles(company, "brasage") == ["Brasage tendre"]
    assert _titles(company, "soudure") == []

    academie = db.session.scalar(select(Organisation).where(Organisation.name == "Académie Lumière"))
    academie.name = "Centre Étoile"
    db.session.commit()
    assert _titles(company, "etoile") == ["Brasage tendre", "Sécurité électrique"]
    assert _titles(company, "académie") == []

    # The published catalogue of the OPCO uses the same index.
    opco = soudure.opco
    found = db.session.scalars(catalogue_reads.published_actions_query(opco, "BRASAGE")).all()
    assert [a.title for a in found] == ["Brasage tendre"]


def test_rebuild_command_restores_what_bulk_writes_left_out(cli, company, catalogue_rows, is_postgres):
    # A bulk write that bypasses the model (an import, a repair by hand) leaves the folded names stale…
    db.session.execute(update(Organisation).values(search_name=""))
    if not is_postgres:  # … and on SQLite an index that lost its rows (e.g. restored from an old copy).
        db.session.execute(text("INSERT INTO action_search(action_search) VALUES ('delete-all')"))
    db.session.commit()
    assert _titles(company, "lumière") == []
    db.session.rollback()  # the command runs in its own transaction

    result = cli("rebuild-search")
    assert result.exit_code == 0, result.output
    assert "Index de recherche reconstruit" in result.output
    db.session.expire_all()
    assert _titles(company, "lumière") == ["Soudure TIG", "Sécurité électrique"]
    assert _titles(company, "habilitation") == ["Sécurité électrique"]


def test_the_index_answers_the_search(company, catalogue_rows, is_postgres):
    """The words are looked up in the index, not by scanning the tables."""
    connection = db.session.connection()
    if is_postgres:
        names = set(connection.execute(text("SELECT indexname FROM pg_indexes")).scalars())
        assert set(search_index.POSTGRES_INDEXES) <= names
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # a 3-row table: force the choice
        query = select(CollectiveAction.id).where(search_index.action_condition("électrique"))
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        plan = "\n".join(connection.execute(text(f"EXPLAIN {compiled}")).scalars())
        assert "ix_collective_actions_search_trgm" in plan
    else:
        for word, table in [("électrique", "action_search"), ("lumière", "organisation_search")]:
            query = (
                select(CollectiveAction.id).where(search_index.action_condition(word))
                if table == "action_search"
                else search_index.organisations_matching(word)
            )
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r[-1]) for r in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "VIRTUAL TABLE INDEX" in plan and table in plan, plan
