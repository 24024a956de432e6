"""Slow work runs as jobs: on RQ workers when REDIS_URL is set, in the caller's process otherwise.

Without Redis a job asked for by a request (a late trainee's convocation, the certificates of a closed
session: PDFs, seconds of work) runs on a background thread of the web process once the request has
answered, never inside it (``JOBS_WITHOUT_REDIS = "thread"``): the page does not wait for WeasyPrint, and a
long job cannot reach gunicorn's timeout. Outside a request (the scheduler, commands) and in tests about a
job's effect (``"inline"``) it runs at once. A job lost with its process is caught up by the same paths as an
RQ job that failed (the daily convocation run, the organisation's « Générer » button). Emails committed by a
request without Redis are not enqueued here: they wait for the scheduler's « envoi-courriels » job
(``services/outbox``). Periodic work is declared in ``services/periodic_jobs``.

A job is named by a registered function and carries its tenant id explicitly, never an ambient one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flask import current_app, has_request_context

log = logging.getLogger(__name__)

_REGISTRY: dict[str, Callable] = {}


def job(name: str):
    """Register a function as a job runnable by name (inline or on a worker)."""

    def decorator(func: Callable) -> Callable:
        _REGISTRY[name] = func
        return func

    return decorator


def enqueue(name: str, *args, tenant_id: int | None = None) -> None:
    """Hand the job to the RQ queue (Redis configured), to this process's background thread (no Redis, in a
    request) or run it now (no Redis, outside a request, or ``JOBS_WITHOUT_REDIS = "inline"``)."""
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        if runs_inline():
            run(name, *args, tenant_id=tenant_id)
        else:
            _in_background(name, args, tenant_id)
        return
    from redis import Redis
    from rq import Queue

    queue = Queue("marketplace", connection=Redis.from_url(redis_url))
    queue.enqueue(run_in_worker, name, list(args), tenant_id)


def runs_inline() -> bool:
    """Whether a job enqueued now runs before ``enqueue`` returns (its effects are then visible at once)."""
    config = current_app.config
    if config.get("REDIS_URL"):
        return False
    return not has_request_context() or config.get("JOBS_WITHOUT_REDIS", "thread") == "inline"


# One thread per process, created on first use (after gunicorn's fork): jobs run one after the other, so a
# burst of closings does not take every core from the requests. Python joins it at exit, so a worker stopped
# gracefully finishes the job in hand.
_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()
_pending: set[Future] = set()


def _in_background(name: str, args: tuple, tenant_id: int | None) -> None:
    global _background
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            try:
                run(name, *args, tenant_id=tenant_id)
            except Exception:  # noqa: BLE001 - logged; caught up like a failed RQ job (module docstring)
                log.exception("Tâche %s (%s) en échec.", name, list(args))

    with _background_lock:
        if _background is None:
            _background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
        future = _background.submit(work)
        _pending.add(future)
    future.add_done_callback(_pending.discard)


def wait_for_background(timeout: float = 60.0) -> None:
    """Wait until the jobs handed to the background thread so far are done (commands, tests)."""
    from concurrent.futures import wait

    with _background_lock:
        futures = list(_pending)
    wait(futures, timeout=timeout)


def run(name: str, *args, tenant_id: int | None = None):
    return _REGISTRY[name](*args, tenant_id=tenant_id)


def run_in_worker(name: str, args: list, tenant_id: int | None):
    """Entry point on an RQ worker started by `flask worker` (which provides the app context)."""
    from marketplace.services import export_jobs, outbox  # noqa: F401  (register their jobs)

    return run(name, *args, tenant_id=tenant_id)
