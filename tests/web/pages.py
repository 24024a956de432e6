"""Small helpers to read what a person sees on a page (shared by the web tests)."""

from __future__ import annotations

import contextlib
import html
import re

from sqlalchemy import event, func, select

from marketplace.extensions import db


def text(response) -> str:
    """The response body with HTML entities decoded (« L&#39;IDCC » reads « L'IDCC »)."""
    return html.unescape(response.get_data(as_text=True))


def visible_text(response) -> str:
    """The body without tags and with collapsed whitespace, roughly what a reader sees."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    body = re.sub(r"</?(?:strong|em|b|i|a|span|small|code|abbr)\b[^>]*>", "", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def flashes(response) -> list[str]:
    """The flash messages shown at the top of a page."""
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m)).split())
        for m in re.findall(
            r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S
        )
    ]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def csrf_token(response) -> str:
    match = re.search(
        r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', response.get_data(as_text=True)
    )
    assert match, "pas de jeton CSRF dans la page"
    return match.group(1)


def token_from(body: str, path: str) -> str:
    """The token at the end of a link ``.../<path>/<token>`` inside an email body."""
    match = re.search(rf"https?://\S+/{path}/([A-Za-z0-9_.\-]+)", body)
    assert match, f"aucun lien /{path}/… dans le courriel :\n{body}"
    return match.group(1)


@contextlib.contextmanager
def count_queries():
    """Collect the SQL statements run inside the block (for "constant number of queries" tests)."""
    statements: list[str] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before_cursor_execute)
