"""What a request wrote: used with ``tests.web.pages.count_queries`` to show that a page only reads."""

from __future__ import annotations


def writes(statements: list[str]) -> list[str]:
    """The statements that change the database or lock rows (a page that only reads runs none)."""
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in s.upper()
    ]
