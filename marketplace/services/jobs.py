"""Slow work runs as jobs: on RQ workers when REDIS_URL is set, inline otherwise.

Inline means in the caller's process: fine for the scheduler's jobs and commands, not for a request. Emails
committed by a request without Redis are therefore not enqueued here: they wait for the scheduler's
« envoi-courriels » job (``services/outbox``). Periodic work is declared in ``services/periodic_jobs``.

A job is named by a registered function and carries its tenant id explicitly, never an ambient one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

log = logging.getLogger(__name__)

_REGISTRY: dict[str, Callable] = {}


def job(name: str):
    """Register a function as a job runnable by name (inline or on a worker)."""

    def decorator(func: Callable) -> Callable:
        _REGISTRY[name] = func
        return func

    return decorator


def enqueue(name: str, *args, tenant_id: int | None = None) -> None:
    """Run the job now (no Redis) or hand it to the RQ queue (Redis configured)."""
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        run(name, *args, tenant_id=tenant_id)
        return
    from redis import Redis
    from rq import Queue

    queue = Queue("marketplace", connection=Redis.from_url(redis_url))
    queue.enqueue(run_in_worker, name, list(args), tenant_id)


def run(name: str, *args, tenant_id: int | None = None):
    return _REGISTRY[name](*args, tenant_id=tenant_id)


def run_in_worker(name: str, args: list, tenant_id: int | None):
    """Entry point on an RQ worker started by `flask worker` (which provides the app context)."""
    from marketplace.services import export_jobs, outbox  # noqa: F401  (register their jobs)

    return run(name, *args, tenant_id=tenant_id)
