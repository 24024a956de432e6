"""Who is acting and from where, set once per request (or CLI command) and read by services.

Services must not import flask.request or flask.g; the web layer fills this context instead.
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("marketplace_request_context", default=None)


def set_request_context(ip_address: str | None) -> None:
    _current.set(RequestContext(ip_address=ip_address))


def current_ip() -> str | None:
    context = _current.get()
    return context.ip_address if context else None
