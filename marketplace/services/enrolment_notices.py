"""Who is told of a change to an enrolment, and the emails, queued in the outbox in the caller's transaction.

The company hears through whoever asked for the enrolment, else its members allowed to enrol. The training
organisation is told of every enrolment and cancellation on its sessions (one email per request); a
cancellation is also sent to the company and to the trainee. The emails of ``enrolments.enrol`` are written at
delivery as things stood at its commit, so that no template is rendered under the session's lock; convocations
already due go out after the commit (services.convocations).

Shared by services.enrolments, services.waitlist and services.session_enrolments (and the contacts by other
services); nothing here locks or changes a status.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from marketplace.models import Enrolment, EnrolmentStatus, TrainingSession
from marketplace.services import accounts, outbox
from marketplace.services.roles import Perm

S = EnrolmentStatus


def company_contacts(enrolment: Enrolment) -> list[str]:
    """Whoever asked for the enrolment, else the company's members allowed to enrol."""
    if enrolment.requested_by is not None:
        return [enrolment.requested_by.email]
    return accounts.member_emails([enrolment.company_id], "company", Perm.ENROL).get(enrolment.company_id, [])


def notify(
    enrolment: Enrolment, template: str, *, contacts: list[str] | None = None, later: bool = False, **context
) -> None:
    queue = partial(outbox.queue_email_later, as_of=_AS_OF) if later else outbox.queue_email
    for email in contacts if contacts is not None else company_contacts(enrolment):
        queue(email, template, organisation_id=enrolment.company_id, enrolment=enrolment, **context)


def notify_trainee(enrolment: Enrolment, template: str, **context) -> None:
    employee = enrolment.employee
    if employee.email and employee.erased_at is None:
        outbox.queue_email(
            employee.email, template, organisation_id=enrolment.company_id, enrolment=enrolment, **context
        )


def provider_contacts(provider_id: int) -> list[str]:
    """The training organisation's members who run its sessions (they follow enrolments and cancellations)."""
    return accounts.member_emails([provider_id], "provider", Perm.MANAGE_SESSIONS).get(provider_id, [])


def notify_provider(session: TrainingSession, changed: list[Enrolment], template: str) -> None:
    """Tell the training organisation of new enrolments or a cancellation on its session (one email per
    request, listing the people concerned)."""
    if not changed:
        return
    for email in provider_contacts(session.provider_id):
        outbox.queue_email(
            email, template, organisation_id=session.provider_id, session=session, enrolments=changed
        )


def notify_created(enrolment: Enrolment, *, contacts: list[str] | None = None, later: bool = False) -> None:
    """The « enrolment made » emails (``later``: written at delivery, see ``emails_of_new_enrolments``)."""
    template = {
        S.CONFIRMED: "enrolment_confirmed",
        S.CONVOKED: "enrolment_confirmed",
        S.PENDING_APPROVAL: "enrolment_pending",
        S.WAITLISTED: "enrolment_waitlisted",
    }.get(enrolment.status)
    if template is None:
        return
    notify(enrolment, template, contacts=contacts, later=later)
    if enrolment.status in (S.CONFIRMED, S.CONVOKED) and enrolment.employee.email:
        queue = partial(outbox.queue_email_later, as_of=_AS_OF) if later else outbox.queue_email
        queue(
            enrolment.employee.email,
            "enrolment_trainee",
            organisation_id=enrolment.company_id,
            enrolment=enrolment,
        )


def convoke_if_due(*confirmed: Enrolment | None, now: datetime | None = None, replaced: bool = False) -> None:
    """Convocations of the session already out (D-N passed): the newly confirmed, or the newcomer of a
    replacement, get theirs right after the commit (services.convocations, never inside this lock)."""
    from marketplace.services import convocations  # circular: convocations moves enrolments to « convoked »

    if replaced:
        convocations.after_replacement(confirmed[0], now=now)
    else:
        convocations.after_confirmation(*confirmed, now=now)


def emails_of_new_enrolments(
    session: TrainingSession, created: list[Enrolment], contacts: list[str] | None, provider_emails: list[str]
) -> None:
    """The company's, the trainees' and the training organisation's emails of ``enrol``: queued in its
    transaction, written at delivery (``outbox.queue_email_later``) as things stood at this commit (statuses,
    seats), so that the request renders no template while the session's lock is held, nor after it."""
    for enrolment in created:
        notify_created(enrolment, contacts=contacts, later=True)
    for email in provider_emails:
        outbox.queue_email_later(
            email,
            "provider_enrolments_new",
            organisation_id=session.provider_id,
            as_of=_AS_OF,
            session=session,
            enrolments=created,
        )


# What an email written at delivery shows as it was when queued (services.outbox.queue_email_later).
_AS_OF = ("status", "seats_held")
