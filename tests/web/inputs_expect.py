"""What the global input guard (marketplace/web/inputs.py) answers before any view runs.

The per-page robustness tests send absurd values (NUL bytes, 1 MB texts, 5 000-character slugs…). Some of them
never reach the page: a control character anywhere in the request is refused with **400** and the French page
« caractères non autorisés », an urlencoded form body beyond 500 kB with **413** « Envoi trop volumineux », a URL
beyond 2 000 characters with **414** « Adresse trop longue ». Every other value reaches the view, whose own
answer (200, 303, 422…) the test keeps asserting. The rules are written here again on purpose, from the policy,
not imported from the app: a guard that stopped refusing (or refused too much) fails these tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

from tests.web.pages import text

# C0 control characters but tab, LF and CR.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORM_LIMIT = 500_000  # bytes of an urlencoded body (Flask's MAX_FORM_MEMORY_SIZE)
URL_LIMIT = 2_000  # characters of path + query string

MESSAGES = {
    400: "Le texte envoyé contient des caractères non autorisés",
    413: "Envoi trop volumineux",
    414: "Adresse trop longue",
}


def _texts(values) -> Iterable[str]:
    for value in values:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield str(key)
                yield from _texts([inner])
        elif isinstance(value, list | tuple | set):
            yield from _texts(value)
        elif value is not None:
            yield str(value)


def expected_refusal(*values, sent_as: str = "form") -> int | None:
    """The guard's status for a request carrying ``values`` (texts, lists or dicts of texts), None if it lets
    them through. ``sent_as``: "form" (urlencoded body), "query" (query string) or "path" (percent-encoded
    part of the path)."""
    texts = list(_texts(values))
    if sent_as == "path":
        texts = [unquote(t) for t in texts]
        if sum(len(t) for t in texts) > URL_LIMIT:
            return 414
    elif sent_as == "query":
        if sum(len(quote(t)) for t in texts) > URL_LIMIT:
            return 414
    elif sum(len(quote(t).encode()) for t in texts) > FORM_LIMIT:
        return 413
    if any(CONTROL.search(t) for t in texts):
        return 400
    return None


def assert_refused_or(response, expected, *values, sent_as: str = "form") -> bool:
    """Assert the guard's refusal (status and French page) when ``values`` are refused before the view, else
    that the view answered ``expected`` (a status or a collection of them). True when the view answered, so
    the caller goes on checking the page; either way the caller checks that nothing changed."""
    refusal = expected_refusal(*values, sent_as=sent_as)
    shown = [str(v)[:20] for v in values]
    if refusal is not None:
        assert response.status_code == refusal, (shown, response.status_code)
        assert MESSAGES[refusal] in text(response), shown
        return False
    allowed = (expected,) if isinstance(expected, int) else tuple(expected)
    assert response.status_code in allowed, (shown, response.status_code)
    return True
