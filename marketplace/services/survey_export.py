"""The survey answers as a file (CSV for French Excel, XLSX): one row per answer to one question.

Same answers as the results pages (``survey_results.counted_responses``: anonymous answers of a session only
once it has 3 of them). An anonymous row carries no name, company nor date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from marketplace.extensions import db
from marketplace.formatting import to_paris
from marketplace.models import (
    CollectiveAction,
    Company,
    Employee,
    Enrolment,
    Respondent,
    SurveyAnswer,
    SurveyKind,
    SurveyResponse,
    TrainingProvider,
    TrainingSession,
)
from marketplace.services.exports import STREAM_ROWS, Exporter
from marketplace.services.survey_results import Scope, counted_responses

ANONYMOUS = "Anonyme"


class SurveyAnswersExport(Exporter):
    title = "Réponses aux questionnaires"
    columns = (
        "Questionnaire",
        "Répondant",
        "Action",
        "Référence",
        "Organisme de formation",
        "Session (début)",
        "Session (fin)",
        "Réponse n°",
        "Nom",
        "Entreprise",
        "Date de réponse",
        "Question",
        "Note (1 à 5)",
        "Réponse libre",
    )
    widths = (16, 12, 36, 18, 30, 12, 12, 10, 24, 28, 12, 48, 10, 60)

    def __init__(self, scope: Scope, stem: str, year: int | None = None):
        self.scope = scope
        self.filename_stem = stem
        self.year = year  # sessions starting that year (the « Exports » page's filter)

    def query(self):
        Provider = aliased(TrainingProvider, flat=True)  # noqa: N806 - both are organisations
        Firm = aliased(Company, flat=True)  # noqa: N806
        return (
            select(
                SurveyResponse.kind,
                SurveyResponse.respondent,
                CollectiveAction.title,
                CollectiveAction.reference,
                Provider.name,
                TrainingSession.start_date,
                TrainingSession.end_date,
                SurveyResponse.id,
                SurveyResponse.anonymous,
                Employee.first_name,
                Employee.last_name,
                Employee.erased_at,
                Firm.name,
                SurveyResponse.submitted_at,
                SurveyAnswer.question_label,
                SurveyAnswer.score,
                SurveyAnswer.text,
            )
            .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
            .join(TrainingSession, TrainingSession.id == SurveyResponse.session_id)
            .join(CollectiveAction, CollectiveAction.id == SurveyResponse.action_id)
            .join(Provider, Provider.id == SurveyResponse.provider_id)
            .outerjoin(Enrolment, Enrolment.id == SurveyResponse.enrolment_id)
            .outerjoin(Employee, Employee.id == Enrolment.employee_id)
            .outerjoin(Firm, Firm.id == SurveyResponse.company_id)
            .where(*self.scope.on(SurveyResponse), counted_responses(), *self._in_year())
            .order_by(
                TrainingSession.start_date,
                SurveyResponse.session_id,
                SurveyResponse.id,
                SurveyAnswer.position,
            )
        )

    def _in_year(self) -> list:
        if self.year is None:
            return []
        return [TrainingSession.start_date.between(date(self.year, 1, 1), date(self.year, 12, 31))]

    def count(self) -> int:
        """How many rows ``rows()`` will write (the export job's « x / n »)."""
        return int(
            db.session.scalar(select(func.count()).select_from(self.query().order_by(None).subquery()))
        )

    def rows(self) -> Iterable[Sequence[object]]:
        result = db.session.execute(self.query().execution_options(yield_per=STREAM_ROWS))
        for (
            kind,
            respondent,
            title,
            reference,
            provider,
            start,
            end,
            response_id,
            anonymous,
            first,
            last,
            erased,
            company,
            submitted,
            question,
            score,
            text,
        ) in result:
            if anonymous:
                name, company, submitted_on = ANONYMOUS, "", None
            elif respondent == Respondent.MANAGER:
                name, submitted_on = "", to_paris(submitted).date() if submitted else None
            else:
                name = (
                    "Salarié supprimé" if erased is not None or first is None else f"{last.upper()} {first}"
                )
                submitted_on = to_paris(submitted).date() if submitted else None
            yield (
                SurveyKind.LABELS[kind],
                "Employeur" if respondent == Respondent.MANAGER else "Stagiaire",
                title,
                reference,
                provider,
                start,
                end,
                # An anonymous answer's number would tell its order: none.
                None if anonymous else response_id,
                name,
                company or "",
                submitted_on,
                question,
                score,
                text or "",
            )
