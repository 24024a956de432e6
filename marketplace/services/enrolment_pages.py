"""Read models of the company's enrolment pages: what the enrol form, the list and a detail page show.

Kept apart from ``enrolments`` (which changes things under locks) so the views hold no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.models import Company, Employee, Enrolment, EnrolmentStatus, TrainingSession
from marketplace.services import eligibility, enrolment_reads, funding
from marketplace.services.identifiers import size_band
from marketplace.services.pagination import Page, paginate

ACTIVE_FILTER = "actives"


def current_employees(company: Company) -> list[Employee]:
    """The company's employees that can be chosen (not erased), by name."""
    return list(
        db.session.scalars(
            select(Employee)
            .where(Employee.company_id == company.id, Employee.erased_at.is_(None))
            .order_by(Employee.last_name, Employee.first_name, Employee.id)
        )
    )


@dataclass
class EnrolForm:
    session: TrainingSession
    employees: list[Employee]
    enrolled_ids: set[int]
    reasons: list[str]
    figures: funding.Funding
    seats_left: int
    deadline: date


def enrol_form(company: Company, session: TrainingSession, now: datetime) -> EnrolForm:
    """Who can be enrolled on ``session``, why not when the company cannot, and what it will cost."""
    today = paris_today(now)
    counts = eligibility.company_counts(company, [session])
    enrolled_ids = set(
        db.session.scalars(
            select(Enrolment.employee_id).where(
                Enrolment.session_id == session.id,
                Enrolment.company_id == company.id,
                Enrolment.status.in_(EnrolmentStatus.ACTIVE),
            )
        )
    )
    return EnrolForm(
        session=session,
        employees=current_employees(company),
        enrolled_ids=enrolled_ids,
        reasons=eligibility.blockers(company, session, today, counts),
        figures=funding.for_session(session, size_band(company.headcount), company),
        seats_left=enrolment_reads.seats_left(session, now),
        deadline=enrolment_reads.cancellation_deadline(session),
    )


def enrolment_list(company: Company, state: str, page: int) -> Page[Enrolment]:
    """The company's enrolments, newest first, filtered by state (or « actives »)."""
    query = select(Enrolment).where(Enrolment.company_id == company.id)
    if state in EnrolmentStatus.LABELS:
        query = query.where(Enrolment.status == state)
    elif state == ACTIVE_FILTER:
        query = query.where(Enrolment.status.in_(EnrolmentStatus.ACTIVE))
    return paginate(query.order_by(Enrolment.created_at.desc(), Enrolment.id.desc()), page, unique=True)


@dataclass
class EnrolmentDetail:
    enrolment: Enrolment
    position: int | None
    deadline: date
    late: bool
    replacements: list[Employee]
    started: bool


def enrolment_detail(enrolment: Enrolment, now: datetime) -> EnrolmentDetail:
    today = paris_today(now)
    return EnrolmentDetail(
        enrolment=enrolment,
        position=enrolment_reads.waitlist_position(enrolment),
        deadline=enrolment_reads.cancellation_deadline(enrolment),  # the notice period frozen on it
        late=enrolment_reads.is_late_cancellation(enrolment, today),
        replacements=[e for e in current_employees(enrolment.company) if e.id != enrolment.employee_id],
        started=today >= enrolment.session.start_date,
    )
