"""One way to cut a list into pages: count, clamp the page asked for, fetch one slice."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from marketplace.extensions import db

T = TypeVar("T")

PER_PAGE = 25
MAX_PAGE = 100_000  # beyond any real list; keeps OFFSET within the database's integers


@dataclass
class Page(Generic[T]):
    """One page of rows; ``page`` is always between 1 and ``pages`` (a list with no row has one empty page)."""

    items: list[T]
    total: int
    page: int
    per_page: int = PER_PAGE
    extra: dict[str, Any] = field(default_factory=dict)
    # The count stopped at ``paginate``'s ``count_limit``: ``total`` is « more than » that (shown so).
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based index of the first row shown (for « 26 à 50 sur 112 »)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0


def clamp_page(page: int | None, total: int, per_page: int = PER_PAGE) -> int:
    pages = max(1, ceil(total / per_page))
    return min(max(page or 1, 1), pages, MAX_PAGE)


def paginate(
    query: Select,
    page: int | None,
    per_page: int = PER_PAGE,
    *,
    scalars: bool = True,
    unique: bool = False,
    count_limit: int | None = None,
) -> Page:
    """Count ``query``, clamp ``page`` and fetch that slice (two statements whatever the number of rows).

    ``query`` must already be ordered (a stable order: end with the id). ``scalars=False`` returns rows
    (tuples) for queries selecting several entities or columns. ``count_limit``: count no further than that
    (the database stops there instead of counting every matching row); past it ``total`` is
    ``count_limit + 1`` and ``more`` is set (« plus de 1 000 »), the pages going as far as that.
    """
    counted = query.order_by(None)
    if count_limit is not None:
        counted = counted.limit(count_limit + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    more = count_limit is not None and total > count_limit
    page = clamp_page(page, total, per_page)
    sliced = query.limit(per_page).offset((page - 1) * per_page)
    if scalars:
        result = db.session.scalars(sliced)
        items = list(result.unique().all() if unique else result.all())
    else:
        result = db.session.execute(sliced)
        items = list(result.unique().all() if unique else result.all())
    return Page(items, total, page, per_page, more=more)


def paginate_bounded(query: Select, page: int | None, per_page: int, count_limit: int) -> Page:
    """``paginate(query, page, per_page, count_limit=count_limit)`` in one statement: the first rows of
    ``query`` in its order, up to the last page a bounded count allows, then the page sliced here.

    Same pages, totals and ``more`` as ``paginate``; the count of a list longer than ``count_limit`` costs no
    more than reading that many rows in order, which the database does anyway to find a page of them, and
    one statement less per page (``query`` selects one column, ordered, ending with the id).
    """
    pages_at_most = ceil((count_limit + 1) / per_page)
    rows = list(db.session.scalars(query.limit(pages_at_most * per_page)))
    total = min(len(rows), count_limit + 1)
    page = clamp_page(page, total, per_page)
    start = (page - 1) * per_page
    return Page(rows[start : start + per_page], total, page, per_page, more=len(rows) > count_limit)
