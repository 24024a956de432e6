"""French working days ("jours ouvrés": Monday to Friday, public holidays excluded).

Public holidays depend on where the training takes place: Alsace-Moselle (départements 57, 67, 68) adds Good
Friday and 26 December; each overseas département or collectivité has its own days (abolition of slavery…).
The ``holidays`` library knows them as subdivisions of France; the place is a département code
(services.places), None meaning mainland France.

Deadlines counted in hours (the waiting-list offer window) are counted in working hours ("heures ouvrées"):
only the hours of working days count, in Paris time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from marketplace.formatting import paris_to_utc, to_paris

# Département (or collectivité) → subdivision of holidays.France; absent: mainland holidays.
_SUBDIVISIONS = {
    "57": "57",  # Moselle
    "67": "6AE",  # Bas-Rhin
    "68": "6AE",  # Haut-Rhin
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
    "975": "PM",
    "BL": "BL",
    "MF": "MF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}


def subdivision_of(departement: str | None) -> str | None:
    return _SUBDIVISIONS.get(departement or "")


@lru_cache(maxsize=128)
def _holidays(year: int, subdivision: str | None) -> frozenset[date]:
    return frozenset(holidays.France(years=year, subdiv=subdivision).keys())


def is_working_day(day: date, departement: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year, subdivision_of(departement))


def working_days_before(day: date, count: int, departement: str | None = None) -> date:
    """The working day that comes ``count`` working days before ``day`` (``day`` itself not counted).

    Used for deadlines such as "cancellation free until 10 jours ouvrés before the first slot", with the
    public holidays of ``departement`` (where the training takes place).
    """
    current = day
    remaining = count
    while remaining > 0:
        current -= timedelta(days=1)
        if is_working_day(current, departement):
            remaining -= 1
    return current


def working_hours_after(start: datetime, hours: int, departement: str | None = None) -> datetime:
    """The instant ``hours`` working hours after ``start`` (both naive UTC, as stored).

    Only the hours of working days count (Monday to Friday, public holidays of ``departement`` excluded),
    on the Paris clock: an offer made on Friday at 16:00 with 48 hours expires on Tuesday at 16:00, one made
    on Saturday starts counting on Monday at 0:00. Changes of summer time fall on Sundays, never counted.
    """
    cursor = to_paris(start).replace(tzinfo=None)
    remaining = timedelta(hours=hours)
    while True:
        day = cursor.date()
        next_midnight = datetime.combine(day + timedelta(days=1), time())
        if is_working_day(day, departement):
            if remaining <= next_midnight - cursor:
                return paris_to_utc(cursor + remaining)
            remaining -= next_midnight - cursor
        cursor = next_midnight
