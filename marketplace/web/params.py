"""Inputs bounded before any service sees them: URL ids, query integers and dates.

An id beyond the database's integer range cannot name a row: the URL converter refuses it (404) instead of
letting the database overflow (500). Query parameters that are out of range or malformed are ignored
(the page falls back to its default), never passed on.
"""

from __future__ import annotations

from datetime import date

from flask import request
from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2_147_483_647  # PostgreSQL ``integer``; ids and counts never go beyond
PAGE_MAX = 100_000
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2100, 12, 31)


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in every route: 1 … 2 147 483 647, anything else does not match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    app.url_map.converters["int"] = BoundedIntConverter


def parse_int(
    raw: str | None, *, default: int | None = None, minimum: int = 1, maximum: int = DB_INT_MAX
) -> int | None:
    """A whole number within [minimum, maximum], else ``default`` (also for blanks, signs, decimals, huge)."""
    if raw is None:
        return default
    raw = raw.strip()
    if not raw or len(raw) > 12 or not (raw.isdigit() or (raw[0] == "-" and raw[1:].isdigit())):
        return default
    if not raw.isascii():
        return default
    value = int(raw)
    return value if minimum <= value <= maximum else default


def int_arg(
    name: str, default: int | None = None, *, minimum: int = 1, maximum: int = DB_INT_MAX
) -> int | None:
    """A query-string integer (an id or a count), bounded; malformed or out of range → ``default``."""
    return parse_int(request.args.get(name), default=default, minimum=minimum, maximum=maximum)


def page_arg(name: str = "page") -> int:
    """The page asked for: 1 … 100 000 (the service clamps it to the last page)."""
    return int_arg(name, 1, maximum=PAGE_MAX) or 1


def int_list(values: list[str]) -> list[int] | None:
    """Ids chosen in a form (checkboxes): all valid, or None so the view can refuse the whole choice."""
    parsed = [parse_int(v) for v in values]
    if any(v is None for v in parsed):
        return None
    return [v for v in parsed if v is not None]


def parse_date(raw: str | None) -> date | None:
    """An ISO date (``aaaa-mm-jj``, as date inputs send it) between 2000 and 2100, else None."""
    if not raw or len(raw) > 10:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if DATE_MIN <= value <= DATE_MAX else None


def date_arg(name: str) -> date | None:
    return parse_date(request.args.get(name))


def code_arg(name: str, max_length: int = 20) -> str | None:
    """A short code from the query string (a region, an IDCC, a size band, a month), stripped; too long or
    blank → None. The service then keeps it only when it is one of its known choices."""
    raw = (request.args.get(name) or "").strip()
    return raw if raw and len(raw) <= max_length else None
