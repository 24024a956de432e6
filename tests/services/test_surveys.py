"""Satisfaction surveys: sending (à chaud at closing, by the daily job; à froid at D+60; one reminder), one answer
per link (also two at once on PostgreSQL), anonymity, OPCO questions frozen, results against hand-computed
figures, the answers' export."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import (
    AuditEvent,
    OutboxMessage,
    SessionStatus,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
)
from marketplace.services import delivery, survey_questions, survey_results, surveys
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.scheduler import run_job
from marketplace.services.survey_export import SurveyAnswersExport
from tests.delivered import delivered_session

HOT_ANSWERS = {"objectives": "4", "content": "4", "trainer": "5", "organisation": "3", "recommend": "5"}


def _tokens(outbox_rows) -> list[str]:
    return [
        re.search(r"/stagiaire/questionnaire/([A-Za-z0-9_-]+)", m.body_text).group(1) for m in outbox_rows
    ]


def _survey_mails(recipient=None, subject_start=None):
    query = (
        select(OutboxMessage).where(OutboxMessage.template == "survey_invitation").order_by(OutboxMessage.id)
    )
    rows = db.session.scalars(query).all()
    if recipient:
        rows = [m for m in rows if m.recipient == recipient]
    if subject_start:
        rows = [m for m in rows if m.subject.startswith(subject_start)]
    return rows


def _run() -> int:
    """The daily job, as the scheduler runs it (its own app context and lock)."""
    result = run_job("envoi-questionnaires")
    assert result.ran and result.error is None, result.error
    return result.outcome.count


def _invite_hot(make, n=3, **kwargs):
    """A session ended yesterday (not closed), its « à chaud » sent by the daily job."""
    company = make.company()
    session, enrolments = delivered_session(
        make, [(company, None, "attended", 420)] * n, status="completed", days_ago=1, closed=False, **kwargs
    )
    assert surveys.send_due() == n
    db.session.commit()
    return session, enrolments


def test_hot_survey_goes_out_with_the_closing(make, opco):
    from tests.services.test_attendance import MarkInput, World, _full_half_day, at

    trainer = make.user()
    provider = make.provider(admin=trainer)
    action = make.action(opco, duration_hours="7")
    day = paris_today() + timedelta(days=30)
    session = make.session(action, provider, start=day, days=1, status="open")
    company = make.company()
    people = [make.enrolment(session, company, make.employee(company)) for _ in range(3)]
    session.status = SessionStatus.CONFIRMED
    db.session.commit()
    w = World(session, trainer, people, day)
    _full_half_day(w, w.am, {people[2].id: MarkInput(0, "absent")})
    _full_half_day(w, w.pm, {people[2].id: MarkInput(0, "absent")})
    delivery.close_session(w.session, trainer, now=at(day, "18:00"))
    db.session.commit()
    mails = _survey_mails()
    # The two who came are asked, not the one absent all day.
    assert sorted(m.recipient for m in mails) == sorted(e.employee.email for e in people[:2])
    assert all(m.subject.startswith("Votre avis sur la formation") for m in mails)
    # The daily job afterwards sends nothing more.
    with time_machine.travel(
        datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(hours=8)
    ):
        assert surveys.send_due() == 0


@pytest.fixture
def opco(make):
    return make.opco("akto")


def test_daily_job_sends_hot_then_cold_at_d60_with_exactly_one_reminder(make, cli):
    company = make.company()
    manager = make.user(email="rh@exemple.test")
    session, enrolments = delivered_session(make, [(company, None, "attended", 420)] * 2, days_ago=1)
    for e in enrolments:
        e.requested_by_id = manager.id
    db.session.commit()
    end = session.end_date

    def on(day_offset: int) -> datetime:
        return datetime.combine(end + timedelta(days=day_offset), datetime.min.time()) + timedelta(hours=6)

    with time_machine.travel(on(1), tick=False):
        assert _run() == 2
    with time_machine.travel(on(2), tick=False):
        assert _run() == 0
    # One trainee answers the « à chaud »; the other is reminded once, 7 days after.
    [first, second] = _tokens(_survey_mails())
    surveys.submit(first, HOT_ANSWERS, anonymous=False, now=on(3))
    db.session.commit()
    with time_machine.travel(on(8), tick=False):
        assert _run() == 1
    for offset in (9, 20, 59):
        with time_machine.travel(on(offset), tick=False):
            assert _run() == 0
    reminders = _survey_mails(subject_start="Rappel")
    assert [m.recipient for m in reminders] == [enrolments[1].employee.email]
    # The reminder carries the same link as the first email (only its hash is stored).
    assert _tokens(reminders) == [second]
    # D+60: both trainees and, once, the manager who enrolled them.
    with time_machine.travel(on(60), tick=False):
        assert _run() == 3
    with time_machine.travel(on(61), tick=False):
        assert _run() == 0
    cold = db.session.scalars(select(SurveyInvitation).where(SurveyInvitation.kind == "cold")).all()
    assert sorted((i.respondent, i.recipient) for i in cold) == sorted(
        [("manager", "rh@exemple.test")] + [("trainee", e.employee.email) for e in enrolments]
    )
    # Nobody answers the « à froid »: exactly one reminder each, 7 days later, never a second.
    with time_machine.travel(on(67), tick=False):
        assert _run() == 3
    for offset in (68, 75, 89):
        with time_machine.travel(on(offset), tick=False):
            assert _run() == 0
    assert len(_survey_mails(subject_start="Rappel")) == 4
    assert len(_survey_mails()) == 2 + 1 + 3 + 3


def test_two_runs_at_once_send_each_questionnaire_once(app, make, is_postgres):
    company = make.company()
    session, enrolments = delivered_session(
        make, [(company, None, "attended", 420)] * 4, status="completed", days_ago=1, closed=False
    )
    if not is_postgres:
        assert surveys.send_due() == 4
        db.session.commit()
        assert surveys.send_due() == 0
    else:
        barrier, results = threading.Barrier(2), []

        def run():
            with app.app_context():
                barrier.wait()
                results.append(surveys.send_due())
                db.session.remove()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(results) == 4
    db.session.expire_all()
    assert len(_survey_mails()) == 4
    assert db.session.scalar(select(func.count(SurveyInvitation.id))) == 4


def test_one_answer_per_link_and_link_expiry(make):
    session, enrolments = _invite_hot(make, n=2)
    first, second = _tokens(_survey_mails())
    with pytest.raises(InvalidForm) as refused:
        surveys.submit(first, {**HOT_ANSWERS, "trainer": "9"}, anonymous=False)
    assert refused.value.errors == {"trainer": "Choisissez une note de 1 à 5."}
    db.session.rollback()
    surveys.submit(first, HOT_ANSWERS, anonymous=False)
    db.session.commit()
    with pytest.raises(DomainError, match="déjà répondu"):
        surveys.submit(first, HOT_ANSWERS, anonymous=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 1
    invitation = surveys.by_token(second, paris_today())
    late = datetime.combine(invitation.expires_on + timedelta(days=1), datetime.min.time()) + timedelta(
        hours=10
    )
    with pytest.raises(DomainError, match="clos depuis"):
        surveys.submit(second, HOT_ANSWERS, anonymous=False, now=late)
    db.session.rollback()
    with pytest.raises(DomainError, match="pas valable"):
        surveys.submit("x" * 40, HOT_ANSWERS, anonymous=False)


def test_retention_purge_forgets_the_addresses_of_closed_questionnaires(make):
    """Past its end a questionnaire's link keeps no email address; the invitation still counts as sent."""
    from marketplace.services import retention

    _invite_hot(make, n=2)
    [end] = set(db.session.scalars(select(SurveyInvitation.expires_on)))
    assert retention.purge(end).survey_addresses == 0  # still open on its last day
    report = retention.purge(end + timedelta(days=1))
    db.session.commit()
    assert report.survey_addresses == 2 and "2 adresses effacées (questionnaires clos)" in report.summary()
    assert set(db.session.scalars(select(SurveyInvitation.recipient))) == {""}
    assert db.session.scalar(select(func.count(SurveyInvitation.id))) == 2
    assert retention.purge(end + timedelta(days=1)).survey_addresses == 0  # idempotent


def test_two_answers_at_once_on_one_link_store_one(app, make, is_postgres):
    _invite_hot(make, n=1)
    [token] = _tokens(_survey_mails())
    barrier, outcomes = threading.Barrier(2), []

    def answer():
        with app.app_context():
            if is_postgres:
                barrier.wait()
            try:
                surveys.submit(token, HOT_ANSWERS, anonymous=True)
                db.session.commit()
                outcomes.append("ok")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    if is_postgres:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:  # SQLite serialises writers: one after the other
        for t in threads:
            t.start()
            t.join()
    assert sorted(outcomes)[-1] == "ok" and outcomes.count("ok") == 1
    assert any("déjà répondu" in o for o in outcomes if o != "ok")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(SurveyResponse.id))) == 1


def test_anonymous_answer_keeps_nothing_of_the_person(make):
    session, enrolments = _invite_hot(make, n=4)
    tokens = _tokens(_survey_mails())
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    surveys.submit(tokens[0], {**HOT_ANSWERS, "comment": "Très concret."}, anonymous=True)
    db.session.commit()
    [response] = db.session.scalars(select(SurveyResponse)).all()
    assert response.anonymous
    assert (response.invitation_id, response.enrolment_id, response.company_id, response.submitted_at) == (
        None,
        None,
        None,
        None,
    )
    # No audit event and no answer time on the invitation: nothing dates the answer.
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before
    invitation = surveys.by_token(tokens[0], paris_today())
    assert invitation.answered and not hasattr(invitation, "answered_at")
    scope = survey_results.Scope(session_id=session.id)
    # One anonymous answer is counted in the rate but shown nowhere (fewer than 3 on this session).
    hot = survey_results.summary(scope, "hot", "trainee")
    assert (hot.invited, hot.answered, hot.counted, hot.withheld) == (4, 1, 0, 1)
    assert hot.questions == [] and hot.comments == []
    assert list(SurveyAnswersExport(scope, "x").rows()) == []
    # A named answer shows with its name; the anonymous one still not.
    surveys.submit(tokens[1], {**HOT_ANSWERS, "trainer": "1", "comment": "Trop rapide."}, anonymous=False)
    db.session.commit()
    hot = survey_results.summary(scope, "hot", "trainee")
    assert hot.counted == 1
    assert [q.average for q in hot.questions if q.key == "trainer"] == [1.0]
    [comment] = hot.comments
    assert comment.text == "Trop rapide." and enrolments[1].employee.last_name.upper() in comment.author
    # The third and fourth anonymous answers: now three anonymous answers, all counted, none named.
    surveys.submit(tokens[2], {**HOT_ANSWERS, "comment": "Bien."}, anonymous=True)
    surveys.submit(tokens[3], HOT_ANSWERS, anonymous=True)
    db.session.commit()
    hot = survey_results.summary(scope, "hot", "trainee")
    assert (hot.answered, hot.counted, hot.withheld) == (4, 4, 0)
    anonymous = [c for c in hot.comments if c.author is None]
    assert sorted(c.text for c in anonymous) == ["Bien.", "Très concret."]
    rows = list(SurveyAnswersExport(scope, "x").rows())
    anonymous_rows = [r for r in rows if r[8] == "Anonyme"]
    assert anonymous_rows and all(r[7] is None and r[9] == "" and r[10] is None for r in anonymous_rows)
    names = {e.employee.last_name.upper() for e in enrolments}
    assert not any(any(n in str(cell) for n in names) for r in anonymous_rows for cell in r)


def test_opco_questions_are_asked_in_order_and_frozen_when_sent(make, opco):
    admin = make.user()
    make.member(opco, admin, "admin")
    q1 = survey_questions.add(opco.id, "Le lieu était accessible", "scale", "hot", admin)
    q2 = survey_questions.add(opco.id, "Une suggestion pour l'OPCO ?", "text", "both", admin)
    survey_questions.add(opco.id, "Seulement à froid", "scale", "cold", admin)
    survey_questions.move(q2, "up", admin)
    db.session.commit()
    action = make.action(opco)
    session, _ = _invite_hot(make, n=1, action=action)
    [token] = _tokens(_survey_mails())
    invitation = surveys.by_token(token, paris_today())
    keys = [q["key"] for q in invitation.questions]
    assert keys == [
        "objectives",
        "content",
        "trainer",
        "organisation",
        "recommend",
        f"q{q2.id}",
        f"q{q1.id}",
        "comment",
    ]
    # Changed after the sending: the invitation keeps what it asked.
    survey_questions.set_active(q1, False, admin)
    q2.label = "Autre libellé"
    db.session.commit()
    db.session.refresh(invitation)
    assert [q["label"] for q in invitation.questions if q["key"] == f"q{q2.id}"] == [
        "Une suggestion pour l'OPCO ?"
    ]
    with pytest.raises(InvalidForm):
        surveys.submit(token, HOT_ANSWERS, anonymous=False)  # q1 (a note) is still asked on this link
    db.session.rollback()
    surveys.submit(token, {**HOT_ANSWERS, f"q{q1.id}": "2", f"q{q2.id}": "Plus de sessions"}, anonymous=False)
    db.session.commit()
    labels = db.session.scalars(select(SurveyAnswer.question_label).order_by(SurveyAnswer.position)).all()
    assert "Le lieu était accessible" in labels and "Une suggestion pour l'OPCO ?" in labels
    with pytest.raises(InvalidForm):
        survey_questions.add(opco.id, "  ", "scale", "both", admin)


def test_results_match_a_hand_computed_set(make, opco):
    """Two OFs on one action. OF A, session 1: 3 anonymous + 1 named answers; session 2: 2 anonymous (withheld)
    and 1 named. OF B: 3 named answers.

    Trainer scores counted — A: s1 anonymous 5, 4, 3 and named 2; s2 named 4 → 18 / 5 = 3,6; distribution
    [0, 1, 1, 2, 1]. Rate A: 7 answers / 8 invited = 88 %. B: trainer 5, 5, 2 → 4,0, rate 3 / 3 = 100 %.
    """
    action = make.action(opco)
    provider_a, provider_b = make.provider(name="Organisme A"), make.provider(name="Organisme B")

    def session_with(provider, n):
        company = make.company()
        session, enrolments = delivered_session(
            make,
            [(company, None, "attended", 420)] * n,
            action=action,
            provider=provider,
            status="completed",
            days_ago=1,
            closed=False,
        )
        before = {m.id for m in _survey_mails()}
        surveys.send_due()
        db.session.commit()
        return session, _tokens([m for m in _survey_mails() if m.id not in before])

    s1, t1 = session_with(provider_a, 4)
    s2, t2 = session_with(provider_a, 4)
    s3, t3 = session_with(provider_b, 3)

    def answer(token, trainer, anonymous):
        surveys.submit(token, {**HOT_ANSWERS, "trainer": str(trainer)}, anonymous=anonymous)

    for token, score in zip(t1[:3], (5, 4, 3), strict=True):
        answer(token, score, True)
    answer(t1[3], 2, False)
    answer(t2[0], 1, True)
    answer(t2[1], 1, True)
    answer(t2[2], 4, False)
    for token, score in zip(t3, (5, 5, 2), strict=True):
        answer(token, score, False)
    db.session.commit()

    a = survey_results.summary(survey_results.Scope(provider_id=provider_a.id), "hot", "trainee")
    assert (a.invited, a.answered, a.counted, a.rate, a.withheld) == (8, 7, 5, 88, 2)
    trainer = next(q for q in a.questions if q.key == "trainer")
    assert (trainer.answers, trainer.average, trainer.distribution) == (5, 3.6, [0, 1, 1, 2, 1])
    assert trainer.percent(5) == 20
    organisation = next(q for q in a.questions if q.key == "organisation")
    assert (organisation.average, organisation.distribution) == (3.0, [0, 0, 5, 0, 0])
    [line_a, line_b] = sorted(
        survey_results.by_provider(survey_results.Scope(opco_id=opco.id, action_id=action.id)),
        key=lambda line: line.label,
    )
    assert (line_a.label, line_a.invited, line_a.answered, line_a.rate) == ("Organisme A", 8, 7, 88)
    # Every scale answer counted: per response 4 + 4 + t + 3 + 5 = 16 + t; A: 5 responses, trainer total 18.
    assert line_a.average == round((16 * 5 + 18) / 25, 2)
    assert (line_b.label, line_b.rate, line_b.recommend) == ("Organisme B", 100, 5.0)
    assert line_b.average == round((16 * 3 + 12) / 15, 2)
    by_session = {line.id: line for line in survey_results.by_session(survey_results.Scope(opco_id=opco.id))}
    assert by_session[s2.id].answered == 3 and by_session[s2.id].scores == 5  # only the named one counts
    [action_line] = survey_results.by_action(survey_results.Scope(opco_id=opco.id))
    assert (action_line.invited, action_line.answered) == (11, 10)
