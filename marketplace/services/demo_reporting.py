"""Demo data for the OPCO's « Pilotage » (part of `flask seed-demo`, after the money trail): a session of the
second organisation (Lyon) delivered 55 days ago in Auvergne-Rhône-Alpes, with an unjustified absence and a late arrival,
closed at service fait and invoiced — so the charts compare two regions, two organisations, three size bands,
and the realisation rate is not 100 %."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import BudgetEnvelope, CollectiveAction, Company, Referencing, TrainingProvider, User
from marketplace.services import delivery, employees, invoicing
from marketplace.services import sessions as session_service
from marketplace.services.attendance_marks import MarkInput
from marketplace.services.demo_delivery import at, enrol, live_half_day, published_session
from marketplace.services.employees import EmployeeInput

TRAINEES = [
    (1, "Fabre", "Gaspard", "Commis de cuisine"),
    (1, "Morel", "Héloïse", "Serveuse"),
    (2, "Lambert", "Ilan", "Préparateur de commandes"),
    (2, "Girard", "Jade", "Responsable qualité"),
]


def _referencing_with_room(provider: TrainingProvider) -> Referencing | None:
    """An AKTO action the organisation is referenced on, enrolled without approval, whose budget envelope
    still has room for four trainees (the demo sets one envelope near its limit)."""
    for referencing in db.session.scalars(
        select(Referencing)
        .join(CollectiveAction, CollectiveAction.id == Referencing.action_id)
        .where(
            Referencing.provider_id == provider.id,
            CollectiveAction.reference.like("AKTO-%"),
            CollectiveAction.requires_approval.is_(False),
        )
        .order_by(CollectiveAction.reference)
    ):
        envelope_id = referencing.action.envelope_id
        envelope = db.session.get(BudgetEnvelope, envelope_id) if envelope_id else None
        if envelope is None or envelope.room_cents >= 4 * referencing.price_cents:
            return referencing
    return None


def seed_reporting(
    today: date, providers: list[TrainingProvider], provider_admins: list[User], companies, company_admins
) -> dict[str, int]:
    """The caller commits."""
    if len(providers) < 2 or len(companies) < 3:
        return {}
    provider, admin = providers[1], provider_admins[1]
    referencing = _referencing_with_room(provider)
    if referencing is None:
        return {}
    first = today - timedelta(days=55)
    days = [first + timedelta(days=n) for n in range(max(1, int(referencing.action.duration_hours) // 7))]
    session = published_session(provider, referencing, admin, days, first - timedelta(days=30))
    people: list = []
    for index in (1, 2):
        company: Company = companies[index]
        staff = [
            employees.create_employee(
                company,
                EmployeeInput(
                    last, first_name, f"{first_name.lower()}.{last.lower()}@{company.slug}.demo.test", job
                ),
                company_admins[index],
            )
            for n, last, first_name, job in TRAINEES
            if n == index
        ]
        people += enrol(session, company, company_admins[index], staff, first - timedelta(days=20))
    session_service.transition(
        session, "confirm", admin, now=datetime.combine(first - timedelta(days=7), time(10))
    )
    _present, _late, absent, _full = people
    for n, slot in enumerate(session.slots):
        marks = {absent.id: MarkInput(0, "absent")}
        if n == 3:
            marks[people[1].id] = MarkInput(0, "late", 90)
        live_half_day(session, slot, admin, marks)
    session_service.transition(session, "complete", admin, now=at(session.end_date, "17:30"))
    delivery.close_session(session, admin, now=at(session.end_date, "18:00"))
    issued = 0
    for invoice in invoicing.draft_for_session(session, admin):
        invoicing.issue(invoice, admin, today=today)
        issued += 1
    return {"reporting_sessions": 1, "reporting_invoices": issued}
