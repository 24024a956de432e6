"""An action's branches, regions and funding shares kept per process (``services.action_lists``): read once,
never stale after a change, whichever way the lists are changed."""

from __future__ import annotations

from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import ActionRegion, CollectiveAction, FundingShare
from marketplace.services import eligibility


def _read(company, session_id):
    """What a new request reads: the session as the enrolment path loads it, and the statements run."""
    db.session.expunge_all()
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        session = eligibility.session_for_company(company, session_id)
        action = session.action
        lists = (sorted(action.idcc_codes), sorted(action.region_codes), action.share_for("11-49"))
        reasons = eligibility.blockers(
            company, session, paris_today(), eligibility.company_counts(company, [session])
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    db.session.rollback()
    return lists, reasons, sent


def _lists_read(sent):
    return [s for s in sent if "action_branches" in s or "funding_shares" in s or "action_regions" in s]


def test_lists_are_read_once_then_again_after_every_change(make):
    opco = make.opco("akto")
    action = make.action(opco, shares={"11-49": 80}, regions=["11"])
    session = make.session(action, make.provider())
    company = make.company(opco_code="akto", headcount=20)  # Île-de-France
    company_id, action_id, session_id = company.id, action.id, session.id
    db.session.commit()

    def company_now():
        return db.session.get(type(company), company_id)

    lists, reasons, sent = _read(company_now(), session_id)
    assert lists[1:] == (["11"], 80) and reasons == []
    assert len(_lists_read(sent)) == 1  # one statement for the three lists
    lists_again, _, sent = _read(company_now(), session_id)
    assert lists_again == lists and _lists_read(sent) == []  # kept by the process

    # A share edited directly on its row.
    share = db.session.scalar(select(FundingShare).where(FundingShare.action_id == action_id))
    share.percent = 50
    db.session.commit()
    lists, _, sent = _read(company_now(), session_id)
    assert lists[2] == 50 and len(_lists_read(sent)) == 1

    # A region removed through the action's collection: the company's region is no longer open.
    edited = db.session.get(CollectiveAction, action_id)
    edited.regions.remove(edited.regions[0])
    edited.regions.append(ActionRegion(region_code="84"))
    db.session.commit()
    lists, reasons, _ = _read(company_now(), session_id)
    assert lists[1] == ["84"]
    assert any("réservée aux entreprises des régions" in r for r in reasons)

    # A share row deleted on its own: that size band is no longer funded.
    db.session.delete(db.session.scalar(select(FundingShare).where(FundingShare.action_id == action_id)))
    db.session.commit()
    lists, reasons, _ = _read(company_now(), session_id)
    assert lists[2] is None
    assert any("pas ouverte aux entreprises de votre taille" in r for r in reasons)


def test_an_instance_holding_kept_lists_reads_a_change_made_since(make):
    """Within one database session (a test, a command): after a commit, the kept copy no longer answers."""
    opco = make.opco("akto")
    action = make.action(opco, shares={"11-49": 80})
    session = make.session(action, make.provider())
    company = make.company(opco_code="akto", headcount=20)
    db.session.commit()
    company_id, session_id = company.id, session.id
    db.session.expunge_all()
    company = db.session.get(type(company), company_id)
    kept = eligibility.session_for_company(company, session_id).action
    assert "funding_shares" not in kept.__dict__ and kept.share_for("11-49") == 80
    share = db.session.scalar(select(FundingShare).where(FundingShare.action_id == kept.id))
    share.percent = 40
    db.session.commit()
    assert kept.share_for("11-49") == 40


def test_a_new_action_never_shares_a_version_with_another(make):
    first, second = make.action(), make.action()
    assert first.lists_version != second.lists_version
