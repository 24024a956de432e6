"""One request lifecycle for every view (Indico's ``RH.process``): parse, call one service, end the request here.

A view parses its input, then hands one service call to ``perform`` (buttons), ``submit`` (forms) or
``render`` (pages). This module alone:

- commits once when the service succeeded, then flashes the success message and redirects with **303**;
- rolls back on ``DomainError`` (or an invalid form), puts the French message next to its field or at the top,
  and answers the page again with **422** — so bad input never leaves half a change;
- turns a row lock that could not be had in time (PostgreSQL ``lock_timeout``) into « réessayez » with 409;
- decides between the whole page and an htmx fragment (``HX-Request``, but a history restore wants the page),
  and adds ``Vary: HX-Request`` whenever one URL can answer both.

Side effects (emails, jobs) are written in the transaction and leave after the commit (``services.outbox``);
any other exception propagates, the session is removed at teardown, so nothing of the request is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, g, make_response, redirect, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from marketplace.extensions import db
from marketplace.services.errors import DomainError, InvalidForm
from marketplace.services.locking import LockBusy, is_lock_timeout

T = TypeVar("T")

UNPROCESSABLE = 422
CONFLICT = 409


def wants_fragment() -> bool:
    """htmx asks for a part of the page, except when it restores history (it then wants the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def render(template: str, *, fragment: str | None = None, status: int = 200, **context: Any) -> Response:
    """The page, or ``fragment`` when htmx asks for it; one URL answering both varies on ``HX-Request``."""
    if fragment is not None:
        g.vary_hx = True
        if wants_fragment():
            template = fragment
    response = make_response(render_template(template, **context), status)
    return response


def see_other(url: str) -> Response:
    """After a successful POST: 303, so that reloading the next page never sends the form again."""
    return redirect(url, code=303)


def with_status(result: ResponseReturnValue, status: int) -> Response:
    response = make_response(result)
    response.status_code = status
    return response


def _show(error: DomainError, form=None) -> None:
    """A refusal goes next to its field(s) when the form has them, else at the top of the page."""
    errors = error.errors if isinstance(error, InvalidForm) else {error.field: error.message}
    for name, message in errors.items():
        field = getattr(form, name, None) if (form is not None and name) else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            flash(message, "error")


def perform(
    action: Callable[[], T],
    *,
    done: Callable[[T], ResponseReturnValue] | str,
    message: str | Callable[[T], str | None] | None = None,
    failed: Callable[[DomainError], ResponseReturnValue] | str | None = None,
    form=None,
    reload: bool = True,
) -> Response:
    """Run one service call as the request's only change and end the request.

    ``done`` is the URL to go to (303) or a function of the result returning a response (e.g. an htmx fragment).
    ``failed`` is the URL to go back to or a function returning the page to show again; it is answered with 422
    (409 when a row lock could not be had). Without ``failed``, a refusal redirects to ``done`` when it is a URL.
    ``reload=False``: the page ``done`` answers shows what the service just wrote, as committed: the objects
    loaded in the request are not read again after the commit (SQLAlchemy's ``expire_on_commit``), which
    saves every statement of that page for a busy POST (the enrolment rush).
    """
    try:
        try:
            result = action()
            _commit(reload)
        except OperationalError as error:
            if not is_lock_timeout(error):
                raise
            raise LockBusy() from error
    except DomainError as error:
        db.session.rollback()
        _show(error, form)
        return _refused(failed, done, error, CONFLICT if isinstance(error, LockBusy) else UNPROCESSABLE)
    text = message(result) if callable(message) else message
    if text:
        flash(text, "success")
    if isinstance(done, str):
        return see_other(done)
    response = make_response(done(result))
    return response


def _commit(reload: bool) -> None:
    session = db.session()
    session.expire_on_commit = reload
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def _refused(failed, done, error: DomainError, status: int) -> Response:
    target = failed if failed is not None else done
    if isinstance(target, str):
        # A button on a page: back to that page, the message is flashed there.
        return see_other(target)
    return with_status(target(error), status)


def submit(
    form,
    action: Callable[[], T],
    *,
    page: Callable[[], ResponseReturnValue],
    done: Callable[[T], ResponseReturnValue] | str | Callable[[T], str],
    message: str | Callable[[T], str | None] | None = None,
) -> Response:
    """A form page: GET shows ``page()``; a valid POST runs ``action`` through ``perform``; an invalid one, or a
    refusal by the service, shows ``page()`` again with 422 and the messages at their fields.

    ``done`` may return a URL (303 there) or a response.
    """
    if not form.is_submitted():
        return make_response(page())
    if not form.validate():
        db.session.rollback()
        return with_status(page(), UNPROCESSABLE)

    def finish(result: T) -> ResponseReturnValue:
        target = done(result) if callable(done) else done
        return see_other(target) if isinstance(target, str) else target

    return perform(action, done=finish, message=message, failed=lambda error: page(), form=form)


def download(export, extension: str) -> Response:
    """A file export (``services.exports.Exporter``) streamed as it is written: the first bytes leave at
    once and the worker's memory stays flat whatever the rows. The request context (and its database
    session, which reads the rows through a server-side cursor) lives until the last chunk."""
    response = Response(
        stream_with_context(export.chunks(extension)), content_type=export.content_type(extension)
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(extension)}"'
    response.headers["Cache-Control"] = "private, no-store"  # personal data
    return response
