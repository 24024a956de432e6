"""Bench data, second half (called by :func:`marketplace.services.generate.generate`): the sessions, their
half-day slots and their enrolments, most of the rows (a million enrolments for 100 000 sessions).

Every session is planned first (:func:`plan_session`: status, capacity, seat holders, waiting list, offer,
history), the plans are scaled towards the target number of enrolments, then the rows are built and written
5 000 sessions at a time. Apart from the parties and the catalogue (``generate``), which it only reads: the
actions and their referencings, the employees of each OPCO, the companies' size bands, the organisations'
VAT regimes.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock

from marketplace.models import Enrolment, SessionSlot, TrainingSession
from marketplace.services import funding
from marketplace.services.generate_common import CITIES, METRO_REGIONS, Writer, chunks, next_id


def write_sessions(
    writer: Writer,
    rng: random.Random,
    sessions: int,
    enrolments: int,
    *,
    today: date,
    now: datetime,
    created: datetime,
    actions: list[dict],
    by_action: dict[int, list[dict]],
    pool: dict[int, list[tuple[int, int]]],
    company_band: dict[int, str],
    share_of: dict[tuple[int, str], int],
    provider_vat: dict[int, str],
    progress: Callable[[str], None],
) -> dict[str, int]:
    """Write ``sessions`` sessions, their half-days and about ``enrolments`` enrolments (streamed, chunk by
    chunk) on the actions and referencings already written; the number of rows written, by kind."""
    listable = [a for a in actions if a["status"] == "published"]
    archived = [a for a in actions if a["status"] == "archived"] or listable
    plans = [plan_session(rng, today) for _ in range(sessions)]
    # Scale the free seats taken so that the total number of enrolments is close to the target.
    planned = sum(p.total for p in plans)
    _rescale(rng, plans, planned, enrolments)
    session_id = next_id(TrainingSession)
    slot_id = next_id(SessionSlot)
    enrolment_id = next_id(Enrolment)
    written = {"sessions": 0, "créneaux": 0, "inscriptions": 0}
    for batch in chunks(plans, 5_000):
        session_rows, slot_rows, enrolment_rows = [], [], []
        for plan in batch:
            action = rng.choice(archived if rng.random() < 0.03 else listable)
            referencing = rng.choice(by_action[action["id"]])
            region = rng.choice(METRO_REGIONS)
            remote = action["modality"] == "distanciel"
            city, postal = CITIES[region]
            days = _working_days(plan.start, max(1, math.ceil(float(action["duration_hours"]) / 7)))
            holders = plan.holders
            session_rows.append(
                dict(
                    id=session_id,
                    action_id=action["id"],
                    provider_id=referencing["provider_id"],
                    opco_id=action["opco_id"],
                    referencing_id=referencing["id"],
                    action_title=action["title"],
                    action_duration_hours=action["duration_hours"],
                    status=plan.status,
                    start_date=days[0],
                    end_date=days[-1],
                    registration_deadline=days[0] - timedelta(days=7),
                    capacity_min=min(plan.capacity, rng.randint(3, 6)),
                    capacity_max=plan.capacity,
                    seats_held=holders,
                    is_remote=remote,
                    address="" if remote else f"{session_id % 200 + 1} rue du Stage",
                    postal_code="" if remote else postal,
                    city="" if remote else city,
                    region_code=None if remote else region,
                    trainer_names="Formateur référent",
                    contact_name="Service inscriptions",
                    contact_email=f"inscriptions{referencing['provider_id']}@exemple.test",
                    contact_phone="01 23 45 67 89",
                    price_cents=referencing["price_cents"],
                    notes="",
                    status_reason=None,
                    postponed_at=None,
                    created_at=created,
                )
            )
            for day in days:
                for half, start, end in (("am", clock(9), clock(12, 30)), ("pm", clock(13, 30), clock(17))):
                    slot_rows.append(
                        dict(
                            id=slot_id,
                            session_id=session_id,
                            day=day,
                            half_day=half,
                            start_time=start,
                            end_time=end,
                        )
                    )
                    slot_id += 1
            people = rng.sample(pool[action["opco_id"]], min(plan.total, len(pool[action["opco_id"]])))
            statuses = plan.statuses(rng, action["requires_approval"])
            for (employee, company), status in zip(people, statuses, strict=False):
                band = company_band[company]
                percent = share_of.get((action["id"], band))
                price = referencing["price_cents"]
                # Generated places are all in mainland France; the OPCOs fund on the HT price (the default).
                figures = _funding(price, percent, provider_vat[referencing["provider_id"]])
                at = datetime.combine(plan.start - timedelta(days=rng.randint(8, 60)), clock(10))
                enrolment_rows.append(
                    dict(
                        id=enrolment_id,
                        session_id=session_id,
                        company_id=company,
                        employee_id=employee,
                        opco_id=action["opco_id"],
                        provider_id=referencing["provider_id"],
                        status=status,
                        price_cents=price,
                        funded_cents=figures.funded_cents,
                        remainder_cents=figures.remainder_cents,
                        vat_rate=figures.vat_rate,
                        vat_cents=figures.vat_cents,
                        price_ttc_cents=figures.price_ttc_cents,
                        funding_basis=figures.basis,
                        opco_amount_cents=figures.opco_amount_cents,
                        remainder_ttc_cents=figures.remainder_ttc_cents,
                        size_band=band,
                        cancellation_days=action["cancellation_days"],
                        cap_per_session=action["cap_per_company_per_session"],
                        cap_per_year=action["cap_per_company_per_year"],
                        requested_by_id=None,
                        waitlisted_at=at if status in ("waitlisted", "offered") else None,
                        offer_expires_at=now + timedelta(hours=30) if status == "offered" else None,
                        decided_at=None,
                        cancelled_at=at + timedelta(days=2) if status == "cancelled" else None,
                        is_late_cancellation=False,
                        status_reason=None,
                        created_at=at,
                        updated_at=at,
                    )
                )
                enrolment_id += 1
            session_id += 1
        written["sessions"] += writer.insert(TrainingSession.__table__, session_rows)
        written["créneaux"] += writer.insert(SessionSlot.__table__, slot_rows)
        written["inscriptions"] += writer.insert(Enrolment.__table__, enrolment_rows)
        if written["sessions"] % 20_000 == 0 or written["sessions"] == sessions:
            progress(
                f"    … {written['sessions']:,} sessions, {written['inscriptions']:,} inscriptions".replace(
                    ",", " "
                )
            )
    return written


@functools.lru_cache(maxsize=65_536)
def _funding(price_cents: int, percent: int | None, vat_regime: str) -> funding.Funding:
    """Funding figures, computed once per price, share and VAT regime (millions of enrolments, few cases)."""
    return funding.compute(price_cents, percent, funding.vat_rate_for(vat_regime, None))


def _working_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass
class _Plan:
    """How one session is filled: its status and how many seat holders, waiting people, history rows."""

    status: str
    start: date
    capacity: int
    holders: int
    waiting: int = 0
    offered: int = 0
    history: int = 0

    @property
    def total(self) -> int:
        return self.holders + self.waiting + self.offered + self.history

    @property
    def full(self) -> bool:
        return self.holders + self.offered >= self.capacity

    def statuses(self, rng: random.Random, requires_approval: bool) -> list[str]:
        if self.status == "cancelled":
            return ["session_cancelled"] * self.total
        held = [
            "pending_approval" if requires_approval and rng.random() < 0.3 else "confirmed"
            for _ in range(self.holders)
        ]
        return (
            held
            + ["offered"] * self.offered
            + ["waitlisted"] * self.waiting
            + [
                rng.choice(["cancelled", "cancelled", "refused", "offer_expired"])
                for _ in range(self.history)
            ]
        )


def plan_session(rng: random.Random, today: date) -> _Plan:
    capacity = rng.randint(8, 20)
    if rng.random() < 0.10:  # past sessions, done
        start = today - timedelta(days=rng.randint(10, 200))
        return _Plan("completed", start, capacity, rng.randint(capacity // 2, capacity))
    start = today + timedelta(days=rng.randint(0, 365))
    status = rng.choices(
        ["open", "registrations_closed", "confirmed", "draft", "cancelled"], [80, 5, 8, 4, 3]
    )[0]
    if status == "draft":
        return _Plan(status, start, capacity, 0)
    if status == "cancelled":
        return _Plan(status, start, capacity, 0, history=rng.randint(0, capacity))
    roll = rng.random()
    if roll < 0.12:  # full, with a waiting list
        return _Plan(status, start, capacity, capacity, waiting=rng.randint(1, 5), history=rng.randint(0, 2))
    if roll < 0.13 and start > today:  # the last seat offered to the first person waiting (no offer once
        # the session's first day has come: services.waitlist.offer_free_seats stops offering then)
        return _Plan(status, start, capacity, capacity - 1, waiting=rng.randint(1, 3), offered=1)
    return _Plan(status, start, capacity, rng.randint(0, capacity - 1), history=rng.randint(0, 1))


def _rescale(rng: random.Random, plans: list[_Plan], planned: int, target: int) -> None:
    """Move the total number of enrolments towards ``target`` by changing free-seat sessions only."""
    adjustable = [
        p for p in plans if p.status in ("open", "registrations_closed", "confirmed") and not p.full
    ]
    if not adjustable:
        return
    delta = target - planned
    guard = 0
    while delta != 0 and guard < 50:
        guard += 1
        for plan in rng.sample(adjustable, len(adjustable)):
            if delta > 0 and plan.holders < plan.capacity - 1:
                plan.holders += 1
                delta -= 1
            elif delta > 0:
                plan.history += 1
                delta -= 1
            elif delta < 0 and plan.history > 0:
                plan.history -= 1
                delta += 1
            elif delta < 0 and plan.holders > 0:
                plan.holders -= 1
                delta += 1
            if delta == 0:
                break
