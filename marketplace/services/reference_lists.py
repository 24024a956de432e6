"""The reference lists pages offer as choices (themes, regions), read once per process.

They change only when the reference files are loaded again (``load_reference_data``, a deployment step),
which empties this cache; a short expiry also covers another process having loaded them. Plain tuples are
kept, never ORM objects, so nothing is bound to one request's database session.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.formatting import sorted_fr
from marketplace.models import Region, Theme

EXPIRY_SECONDS = 600
_cache: dict[tuple[str, str], tuple[float, list]] = {}


class ThemeRow(NamedTuple):
    code: str
    label: str


class RegionRow(NamedTuple):
    code: str
    name: str


def _cached(name: str, load) -> list:
    key = (name, str(db.engine.url))  # one entry per database (tests run several apps)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit is None or now - hit[0] > EXPIRY_SECONDS:
        hit = (now, load())
        _cache[key] = hit
    return hit[1]


def themes() -> list[ThemeRow]:
    """Every theme, by code."""
    return _cached(
        "themes",
        lambda: [
            ThemeRow(*row) for row in db.session.execute(select(Theme.code, Theme.label).order_by(Theme.code))
        ],
    )


def regions() -> list[RegionRow]:
    """Every region, by name in French order (« Île-de-France » among the I, whatever the collation)."""
    return _cached(
        "regions",
        lambda: sorted_fr(
            [RegionRow(*row) for row in db.session.execute(select(Region.code, Region.name))],
            key=lambda r: r.name,
        ),
    )


def forget() -> None:
    """Read the lists again on next use (after the reference files are loaded)."""
    _cache.clear()
