"""Demo attendance and service fait (part of `flask seed-demo`), lived through the same services as the pages
at the dates they would have happened:

- the demo's past SST session (completed): every half-day signed by the trainees and attested by the
  trainer, then closed (service fait) with its feuille d'émargement;
- an SST session in progress: yesterday's half-days signed and attested, today's morning open for signing;
- a past session with one trainee absent (excused) and one who left early (partial), closed.

Drawn signatures are small generated PNGs (:func:`signature_png`).
"""

from __future__ import annotations

import struct
import zlib
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import paris_to_utc
from marketplace.models import (
    Attendance,
    CollectiveAction,
    Company,
    Employee,
    Enrolment,
    EnrolmentStatus,
    Referencing,
    SessionStatus,
    SignMethod,
    TrainingProvider,
    TrainingSession,
    User,
)
from marketplace.services import attendance, attendance_marks, delivery, enrolments, sessions
from marketplace.services.attendance import SignatureInput
from marketplace.services.attendance_marks import AttestInput, MarkInput
from marketplace.services.session_input import SessionInput, SlotInput

SST = "AKTO-AC-2026-01"


def signature_png(seed: str, width: int = 160, height: int = 48) -> bytes:
    """A small black-on-white PNG with a wavy stroke that depends on ``seed`` (a stand-in drawn signature)."""
    import math

    phase = sum(ord(c) for c in seed) % 17 / 3
    pixels = [[255] * width for _ in range(height)]
    for x in range(8, width - 8):
        y = int(height / 2 + (height / 3) * math.sin(x / 9 + phase) * math.cos(x / 23))
        for dy in (-1, 0, 1):
            if 0 <= y + dy < height:
                pixels[y + dy][x] = 0
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def at(day: date, hhmm: str) -> datetime:
    return paris_to_utc(datetime.combine(day, time.fromisoformat(hhmm)))


def _rows(slot) -> dict[int, Attendance]:
    return {
        r.enrolment_id: r for r in db.session.scalars(select(Attendance).where(Attendance.slot_id == slot.id))
    }


def live_half_day(session, slot, trainer: User, marks: dict[int, MarkInput] | None = None, *, attest=True):
    """Open the half-day at its start, each expected trainee signs (unless marked absent), the trainer attests."""
    marks = marks or {}
    start = at(slot.day, slot.start_time.strftime("%H:%M"))
    attendance.open_half_day(session, slot, trainer, now=start - timedelta(minutes=20))
    for n, (enrolment_id, row) in enumerate(sorted(_rows(slot).items())):
        mark = marks.get(enrolment_id)
        if mark is not None and mark.status not in ("present", "late"):
            continue
        via = (SignMethod.QR, SignMethod.LINK, SignMethod.OF_DEVICE)[n % 3]
        attendance.sign(
            row,
            SignatureInput(
                via,
                signature_png(row.enrolment.employee.last_name),
                ip_address="192.0.2.10",
                user_agent="Mozilla/5.0 (iPhone) démo",
            ),
            now=start + timedelta(minutes=2 + n),
        )
    if attest:
        rows = _rows(slot)
        attendance_marks.attest(
            session,
            slot,
            AttestInput(
                session.trainer_names.split(",")[0],
                signature_png("formateur"),
                marks=[
                    MarkInput(rows[e].id, m.status, m.minutes_missed, m.excuse_reason)
                    for e, m in marks.items()
                ],
                ip_address="192.0.2.20",
                user_agent="Mozilla/5.0 (X11) démo",
            ),
            trainer,
            now=at(slot.day, slot.end_time.strftime("%H:%M")),
        )


def published_session(
    provider, referencing, admin, days: list[date], created_on: date, capacity_max: int = 8
) -> TrainingSession:
    data = SessionInput(
        referencing_id=referencing.id,
        slots=[
            SlotInput(day, half, start, end)
            for day in days
            for half, start, end in (("am", time(9), time(12, 30)), ("pm", time(13, 30), time(17)))
        ],
        registration_deadline=days[0] - timedelta(days=3),
        capacity_min=2,
        capacity_max=capacity_max,
        address=provider.address,
        postal_code=provider.postal_code,
        city=provider.city,
        region_code=provider.region_code,
        trainer_names="Claire Formatrice, Paul Intervenant",
        contact_name=admin.full_name,
        contact_email=admin.email,
        contact_phone="01 23 45 67 89",
    )
    session = sessions.create_session(provider, data, admin, created_on)
    sessions.transition(session, "publish", admin, now=datetime.combine(created_on, time(10)))
    return session


def enrol(session, company: Company, admin: User, people: list[Employee], when: date) -> list[Enrolment]:
    outcomes = enrolments.enrol(
        company, session.id, [p.id for p in people], admin, now=datetime.combine(when, time(10))
    )
    return [o.enrolment for o in outcomes if o.enrolment]


def seed_delivery(
    today: date, providers: list[TrainingProvider], provider_admins: list[User], companies, company_admins
) -> dict[str, int]:
    """Attendance and closings of the demo (the caller commits)."""
    provider, admin = providers[0], provider_admins[0]
    referencing = db.session.scalar(
        select(Referencing)
        .join(CollectiveAction, CollectiveAction.id == Referencing.action_id)
        .where(CollectiveAction.reference == SST, Referencing.provider_id == provider.id)
    )
    staff = {
        c.id: list(
            db.session.scalars(select(Employee).where(Employee.company_id == c.id).order_by(Employee.id))
        )
        for c in companies[:3]
    }
    closed = 0

    # 1. The past completed session: full attendance, signed, closed (service fait).
    past = db.session.scalar(
        select(TrainingSession).where(
            TrainingSession.provider_id == provider.id, TrainingSession.status == SessionStatus.COMPLETED
        )
    )
    if past is not None:
        for slot in past.slots:
            live_half_day(past, slot, admin)
        delivery.close_session(past, admin, now=at(past.end_date, "18:00"))
        closed += 1

    # 2. A past session awaiting service fait: one trainee attended in full, one absent with an excuse, one
    # who left early (partial), one absent without excuse, one who abandoned after the first half-day.
    first = today - timedelta(days=40)
    mixed = published_session(
        provider, referencing, admin, [first, first + timedelta(days=1)], first - timedelta(days=30)
    )
    people = enrol(
        mixed, companies[0], company_admins[0], staff[companies[0].id][5:8], first - timedelta(days=25)
    )
    people += enrol(
        mixed, companies[2], company_admins[2], staff[companies[2].id][5:7], first - timedelta(days=24)
    )
    sessions.transition(mixed, "confirm", admin, now=datetime.combine(first - timedelta(days=10), time(10)))
    _attended, excused, partial, absent, quitter = people
    for n, slot in enumerate(mixed.slots):
        marks = {
            excused.id: MarkInput(0, "excused", excuse_reason="Arrêt maladie (justificatif reçu)"),
            absent.id: MarkInput(0, "absent"),
        }
        if n == 3:
            marks[partial.id] = MarkInput(0, "late", 90)
        if n >= 1:
            marks.pop(quitter.id, None)
        live_half_day(mixed, slot, admin, marks)
        if n == 0:
            delivery.declare_abandon(mixed, quitter.id, "A quitté la formation (reprise d'un emploi).", admin)
    sessions.transition(mixed, "complete", admin, now=at(mixed.end_date, "17:30"))

    # 3. In progress: yesterday signed and attested, today's morning open for signing. It was full: the
    # person on its waiting list left it when it started.
    running = published_session(
        provider,
        referencing,
        admin,
        [today - timedelta(days=1), today],
        today - timedelta(days=30),
        capacity_max=3,
    )
    enrol(running, companies[1], company_admins[1], staff[companies[1].id][5:8], today - timedelta(days=25))
    enrol(running, companies[2], company_admins[2], staff[companies[2].id][7:8], today - timedelta(days=20))
    sessions.transition(running, "confirm", admin, now=datetime.combine(today - timedelta(days=10), time(10)))
    for slot in running.slots[:2]:
        live_half_day(running, slot, admin)
    attendance.open_half_day(running, running.slots[2], admin, now=at(today, "08:30"))
    db.session.flush()
    in_training = sum(1 for e in running_enrolments(running) if e.status == EnrolmentStatus.IN_TRAINING)
    return {"sessions_closed": closed, "trainees_in_training": in_training}


def running_enrolments(session: TrainingSession) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)))
