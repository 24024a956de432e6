"""French formatting shared by templates, emails, exports and service messages.

Dates jj/mm/aaaa, times in Europe/Paris, amounts « 1 234,56 € » with a narrow no-break space.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

PARIS = ZoneInfo("Europe/Paris")
NNBSP = "\u202f"  # narrow no-break space, the French thousands separator


def to_paris(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(PARIS)


def paris_today(now: datetime | None = None) -> date:
    """« Today » for every rule and page: the date in Europe/Paris, not the server's (``date.today()``) nor
    UTC's — at 23:30 UTC on 31 December it is already 1 January in Paris. ``now``: the naive UTC time stored
    (``models.utcnow()``), default the current time."""
    return to_paris(now if now is not None else datetime.now(UTC)).date()


def paris_midnight_utc(day: date) -> datetime:
    """The naive UTC instant at which ``day`` begins in Paris (23:00 or 22:00 UTC the day before)."""
    return paris_to_utc(datetime.combine(day, datetime.min.time()))


def date_fr(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_paris(value)
    return value.strftime("%d/%m/%Y")


def datetime_fr(value: datetime | None) -> str:
    if value is None:
        return ""
    local = to_paris(value)
    return f"{local:%d/%m/%Y} à {local:%H}h{local:%M}"


def money_fr(cents: int | Decimal | None, suffix: str = "") -> str:
    """Integer cents to « 1 234,56 € » (add suffix « HT » or « TTC » when relevant)."""
    if cents is None:
        return ""
    if isinstance(cents, int):  # the usual case, 20× faster than babel (a catalogue page formats 60 amounts)
        units, rest = divmod(abs(cents), 100)
        text = ("-" if cents < 0 else "") + _grouped(units) + f",{rest:02d}"
    else:
        amount = Decimal(cents) / 100
        text = format_decimal(amount, format="#,##0.00", locale="fr_FR").replace("\u00a0", NNBSP)
    return f"{text}\u00a0€" + (f" {suffix}" if suffix else "")


def number_fr(value: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return ("-" if value < 0 else "") + _grouped(abs(value))
    return format_decimal(value, locale="fr_FR").replace("\u00a0", NNBSP)


def _grouped(units: int) -> str:
    """``1234567`` → « 1 234 567 » (narrow no-break spaces), as babel writes it for fr_FR."""
    return f"{units:,}".replace(",", NNBSP)


def paris_to_utc(local: datetime) -> datetime:
    """A naive Europe/Paris wall-clock time (as typed in a form) to the naive UTC time stored."""
    return local.replace(tzinfo=PARIS).astimezone(UTC).replace(tzinfo=None)


def utc_to_paris(value: datetime | None) -> datetime | None:
    """The stored naive UTC time as a naive Paris wall-clock time (to fill a datetime-local input)."""
    return None if value is None else to_paris(value).replace(tzinfo=None)
