"""What a list page would otherwise build again and again: parts of pages kept per process, URLs per row.

- ``KeptHtml``: a rendered part of a page (a search form with hundreds of choices) kept a short time per key
  (its organisation and query string), so that views only say what to render and on what it depends.
- ``url_with_id``: the URL of each row's page built by a string join, not by ``url_for`` per row (20 to 100
  rows a page, each ``url_for`` walks the URL map).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from flask import current_app, url_for
from markupsafe import Markup


class KeptHtml:
    """Rendered HTML kept ``seconds`` per key, at most ``size`` keys (all forgotten when full).

    ``depends_on``: an object the HTML was built from (e.g. a kept list of choices); when another object is
    given for the same key, the HTML is built again. Keys are per application (tests create several).
    """

    def __init__(self, seconds: float, size: int) -> None:
        self.seconds = seconds
        self.size = size
        self._kept: dict[tuple, tuple[float, object, Markup]] = {}

    def get(self, key: Hashable, build: Callable[[], str], depends_on: object = None) -> Markup:
        full_key = (id(current_app._get_current_object()), key)
        hit = self._kept.get(full_key)
        now = time.monotonic()
        if hit is None or now - hit[0] > self.seconds or hit[1] is not depends_on:
            if len(self._kept) >= self.size:
                self._kept.clear()
            hit = self._kept[full_key] = (now, depends_on, Markup(build()))
        return hit[2]

    def clear(self) -> None:
        self._kept.clear()


# Any digits a URL cannot otherwise hold where the id goes: replaced by each row's id.
_ID_MARK = 987654321987


def url_with_id(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """A function giving, for an id, ``url_for(endpoint, **{key: id}, **values)`` (same text): ``url_for`` runs
    once, with a mark in place of the id that each call replaces (the id is an integer path segment)."""
    path, question, query = url_for(endpoint, **{key: _ID_MARK}, **values).partition("?")
    head, mark, tail = path.rpartition(str(_ID_MARK))  # the id comes after the organisation's slug
    if not mark:  # not in the path (a converter changed it): url_for per row then
        return lambda object_id: url_for(endpoint, **{key: object_id}, **values)
    tail += question + query
    return lambda object_id: f"{head}{int(object_id)}{tail}"
