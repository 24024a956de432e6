"""Results of the satisfaction surveys: response rate, averages and distribution per question, comments.

Scopes: a session, an action, an organisation (the OF sees its own sessions, the OPCO those of its catalogue),
and the comparison of the OFs of one action (OPCO).

Anonymity rule (``MIN_ANONYMOUS``): the anonymous answers of a session count in the figures and comments only
once that session has at least 3 anonymous answers to the same questionnaire. Before that they count in the
response rate only. So no figure, anywhere, is made of fewer than 3 anonymous answers of one session: a
single answer can be neither read alone nor found by subtracting two figures (every scope is a union of whole
sessions). Named answers always count; their comments show the person's name, anonymous ones never do, and
anonymous comments are listed in alphabetical order (not in the order they came).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.models import (
    CollectiveAction,
    Company,
    Employee,
    Enrolment,
    Respondent,
    SurveyAnswer,
    SurveyInvitation,
    SurveyKind,
    SurveyResponse,
    TrainingProvider,
    TrainingSession,
)

MIN_ANONYMOUS = 3
QUESTIONNAIRES = (
    (SurveyKind.HOT, Respondent.TRAINEE, "À chaud — stagiaires"),
    (SurveyKind.COLD, Respondent.TRAINEE, "À froid (J+60) — stagiaires"),
    (SurveyKind.COLD, Respondent.MANAGER, "À froid (J+60) — employeurs"),
)
MAX_COMMENTS = 200
_ANSWERED = case((SurveyInvitation.answered.is_(True), 1), else_=0)


@dataclass(frozen=True)
class Scope:
    """Which answers: an organisation's (``opco_id`` or ``provider_id``), narrowed to an action or a session."""

    opco_id: int | None = None
    provider_id: int | None = None
    action_id: int | None = None
    session_id: int | None = None

    def on(self, model) -> list:
        where = []
        for name in ("opco_id", "provider_id", "action_id", "session_id"):
            value = getattr(self, name)
            if value is not None:
                where.append(getattr(model, name) == value)
        return where


@dataclass
class QuestionResult:
    key: str
    label: str
    answers: int = 0
    total: int = 0
    distribution: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])

    @property
    def average(self) -> float | None:
        return round(self.total / self.answers, 2) if self.answers else None

    def percent(self, score: int) -> int:
        return round(100 * self.distribution[score - 1] / self.answers) if self.answers else 0


@dataclass
class Comment:
    question: str
    text: str
    author: str | None  # None: anonymous


@dataclass
class Summary:
    kind: str
    respondent: str
    title: str
    invited: int = 0
    answered: int = 0
    counted: int = 0  # answers in the figures (withheld anonymous ones are not)
    questions: list[QuestionResult] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def rate(self) -> int | None:
        return round(100 * self.answered / self.invited) if self.invited else None

    @property
    def withheld(self) -> int:
        return self.answered - self.counted


def counted_responses():
    """The condition on ``SurveyResponse`` of the answers that count (named, or anonymous of a session with at
    least ``MIN_ANONYMOUS`` anonymous answers to the same questionnaire)."""
    other = aliased(SurveyResponse)
    anonymous_count = (
        select(func.count(other.id))
        .where(
            other.session_id == SurveyResponse.session_id,
            other.kind == SurveyResponse.kind,
            other.respondent == SurveyResponse.respondent,
            other.anonymous.is_(True),
        )
        .correlate(SurveyResponse)
        .scalar_subquery()
    )
    return or_(SurveyResponse.anonymous.is_(False), anonymous_count >= MIN_ANONYMOUS)


def _invitations(scope: Scope, kind: str, respondent: str) -> tuple[int, int]:
    where = [SurveyInvitation.kind == kind, SurveyInvitation.respondent == respondent]
    query = select(
        func.count(SurveyInvitation.id),
        func.coalesce(func.sum(_ANSWERED), 0),
    ).where(*where)
    if scope.session_id is not None:
        query = query.where(SurveyInvitation.session_id == scope.session_id)
    else:
        query = query.join(TrainingSession, TrainingSession.id == SurveyInvitation.session_id).where(
            *scope.on(TrainingSession)
        )
    invited, answered = db.session.execute(query).one()
    return invited, int(answered)


def summary(scope: Scope, kind: str, respondent: str, title: str = "") -> Summary:
    result = Summary(kind, respondent, title)
    result.invited, result.answered = _invitations(scope, kind, respondent)
    where = [*scope.on(SurveyResponse), SurveyResponse.kind == kind, SurveyResponse.respondent == respondent]
    result.counted = db.session.scalar(
        select(func.count(SurveyResponse.id)).where(*where, counted_responses())
    )
    rows = db.session.execute(
        select(
            SurveyAnswer.question_key,
            func.max(SurveyAnswer.question_label),
            func.min(SurveyAnswer.position),
            SurveyAnswer.score,
            func.count(SurveyAnswer.id),
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(*where, counted_responses(), SurveyAnswer.score.is_not(None))
        .group_by(SurveyAnswer.question_key, SurveyAnswer.score)
    ).all()
    by_key: dict[str, tuple[int, QuestionResult]] = {}
    for key, label, position, score, count in rows:
        order, question = by_key.setdefault(key, (position, QuestionResult(key, label)))
        by_key[key] = (min(order, position), question)
        question.answers += count
        question.total += score * count
        question.distribution[score - 1] += count
    result.questions = [q for _, q in sorted(by_key.values(), key=lambda item: (item[0], item[1].key))]
    result.comments = _comments(where)
    return result


def _comments(where: list) -> list[Comment]:
    rows = db.session.execute(
        select(
            SurveyAnswer.question_label,
            SurveyAnswer.text,
            SurveyResponse.anonymous,
            Employee.first_name,
            Employee.last_name,
            Employee.erased_at,
            Company.name,
            SurveyResponse.respondent,
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .outerjoin(Enrolment, Enrolment.id == SurveyResponse.enrolment_id)
        .outerjoin(Employee, Employee.id == Enrolment.employee_id)
        .outerjoin(Company, Company.id == SurveyResponse.company_id)
        .where(*where, counted_responses(), SurveyAnswer.text.is_not(None))
        .order_by(SurveyResponse.anonymous, SurveyAnswer.text, SurveyAnswer.id)
        .limit(MAX_COMMENTS)
    ).all()
    comments = []
    for label, text, anonymous, first, last, erased, company, respondent in rows:
        if anonymous:
            author = None
        elif respondent == Respondent.MANAGER:
            author = company
        elif erased is not None or first is None:
            author = f"Salarié supprimé ({company})" if company else "Salarié supprimé"
        else:
            author = f"{first} {last.upper()} ({company})"
        comments.append(Comment(label, text, author))
    return comments


def all_summaries(scope: Scope) -> list[Summary]:
    return [summary(scope, kind, respondent, title) for kind, respondent, title in QUESTIONNAIRES]


# --- Lists: per action, per session, per OF ------------------------------------------------------------------


@dataclass
class Line:
    """One row of a results table (an action, a session or an OF)."""

    id: int
    label: str
    detail: str = ""
    invited: int = 0
    answered: int = 0
    total: int = 0
    scores: int = 0
    recommend_total: int = 0
    recommend_answers: int = 0
    obj: object = None

    @property
    def rate(self) -> int | None:
        return round(100 * self.answered / self.invited) if self.invited else None

    @property
    def average(self) -> float | None:
        return round(self.total / self.scores, 2) if self.scores else None

    @property
    def recommend(self) -> float | None:
        return round(self.recommend_total / self.recommend_answers, 2) if self.recommend_answers else None


def _lines(group, scope: Scope, kind: str = SurveyKind.HOT) -> dict[int, Line]:
    """Invitations and scores of the « à chaud » trainees' questionnaire grouped by ``group`` (a column of
    ``TrainingSession``: action_id, provider_id or id), in two queries."""
    lines: dict[int, Line] = {}
    invited = db.session.execute(
        select(group, func.count(SurveyInvitation.id), func.sum(_ANSWERED))
        .join(TrainingSession, TrainingSession.id == SurveyInvitation.session_id)
        .where(
            *scope.on(TrainingSession),
            SurveyInvitation.kind == kind,
            SurveyInvitation.respondent == Respondent.TRAINEE,
        )
        .group_by(group)
    ).all()
    for key, count, answered in invited:
        lines[key] = Line(key, "", invited=count, answered=int(answered or 0))
    response_group = {
        "action_id": SurveyResponse.action_id,
        "provider_id": SurveyResponse.provider_id,
        "id": SurveyResponse.session_id,
    }[group.key]
    is_recommend = SurveyAnswer.question_key == "recommend"
    scores = db.session.execute(
        select(
            response_group,
            func.sum(SurveyAnswer.score),
            func.count(SurveyAnswer.id),
            func.sum(SurveyAnswer.score).filter(is_recommend),
            func.count(SurveyAnswer.id).filter(is_recommend),
        )
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(
            *scope.on(SurveyResponse),
            SurveyResponse.kind == kind,
            SurveyResponse.respondent == Respondent.TRAINEE,
            counted_responses(),
            SurveyAnswer.score.is_not(None),
        )
        .group_by(response_group)
    ).all()
    for key, total, count, recommend_total, recommend_count in scores:
        line = lines.setdefault(key, Line(key, ""))
        line.total, line.scores = int(total or 0), count
        line.recommend_total, line.recommend_answers = int(recommend_total or 0), recommend_count
    return lines


def by_action(scope: Scope) -> list[Line]:
    """The actions with survey invitations in ``scope``, with their « à chaud » figures (3 queries)."""
    lines = _lines(TrainingSession.action_id, scope)
    if not lines:
        return []
    actions = db.session.execute(
        select(CollectiveAction.id, CollectiveAction.title, CollectiveAction.reference).where(
            CollectiveAction.id.in_(lines)
        )
    ).all()
    for action_id, title, reference in actions:
        lines[action_id].label, lines[action_id].detail = title, reference
    return sorted(lines.values(), key=lambda line: (line.label.lower(), line.id))


def by_provider(scope: Scope) -> list[Line]:
    """The OFs of ``scope`` (an action of an OPCO) side by side: the comparison across OFs."""
    lines = _lines(TrainingSession.provider_id, scope)
    if not lines:
        return []
    names = dict(
        db.session.execute(
            select(TrainingProvider.id, TrainingProvider.name).where(TrainingProvider.id.in_(lines))
        ).all()
    )
    for provider_id, line in lines.items():
        line.label = names.get(provider_id, "")
    return sorted(lines.values(), key=lambda line: (-(line.average or 0), line.label.lower()))


def by_session(scope: Scope) -> list[Line]:
    lines = _lines(TrainingSession.id, scope)
    if not lines:
        return []
    sessions = db.session.scalars(
        select(TrainingSession)
        .where(TrainingSession.id.in_(lines))
        .order_by(TrainingSession.start_date.desc())
    ).all()
    names = dict(
        db.session.execute(
            select(TrainingProvider.id, TrainingProvider.name).where(
                TrainingProvider.id.in_({s.provider_id for s in sessions})
            )
        ).all()
    )
    ordered = []
    for session in sessions:
        line = lines[session.id]
        line.obj, line.detail = session, names.get(session.provider_id, "")
        ordered.append(line)
    return ordered


def action_for(org, action_id: int) -> CollectiveAction | None:
    """The action, if ``org`` may read its results: the OPCO's own action; for an OF, an action it has held
    sessions of."""
    if org.kind == "opco":
        return db.session.scalar(
            select(CollectiveAction).where(
                CollectiveAction.id == action_id, CollectiveAction.opco_id == org.id
            )
        )
    held = select(TrainingSession.id).where(
        TrainingSession.action_id == action_id, TrainingSession.provider_id == org.id
    )
    return db.session.scalar(select(CollectiveAction).where(CollectiveAction.id == action_id, held.exists()))


def scope_of(org, **narrow) -> Scope:
    """Everything ``org`` may read (the OPCO its catalogue, the OF its sessions), narrowed."""
    if org.kind == "opco":
        return Scope(opco_id=org.id, **narrow)
    return Scope(provider_id=org.id, **narrow)
