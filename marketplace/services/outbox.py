"""Emails: written to the outbox in the same transaction as their cause, delivered only after commit.

A rolled-back change leaves no message behind. A committed one is delivered outside the request: with Redis
it is handed to an RQ worker right after the commit; without Redis it waits, pending, for the scheduler's
« envoi-courriels » job (`flask scheduler`, every 10 seconds, ``deliver_pending``), so no request ever waits
on an SMTP server. ``OUTBOX_DELIVERY = "inline"`` (tests about an email's content) delivers right after the
commit in the committing process instead. Without SMTP settings the message stays in the outbox, marked as
held, where operators can read it.
An email may also be written at delivery instead (``queue_email_later``, for the enrolment rush): the row
stores what it shows by reference, so the request that queues it renders no template and loads nothing more.

Secrets at rest: some emails carry a single-use link (invitation, password reset). The row keeps the live link
only until it is delivered — a failed delivery must be retried with it — then the link's token is masked in
the stored body, so the database (and its backups) holds no usable link. With SMTP configured the operator's
outbox view masks it even before delivery; without SMTP the held outbox is how people follow their links in
development, so it shows them.
"""

from __future__ import annotations

import logging
import re
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from sqlalchemy import create_engine, event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import NullPool

from marketplace.extensions import db
from marketplace.models import OutboxMessage, OutboxStatus, utcnow
from marketplace.services import jobs

log = logging.getLogger(__name__)
_DELIVERABLE = (OutboxStatus.PENDING, OutboxStatus.FAILED)
_NEW = "outbox_new"
# Links whose last part is a secret: masked in stored bodies once sent, and in the operator's view with SMTP.
SECRET_LINK_ENDPOINTS = (
    "auth.accept_invitation",
    "auth.reset_password",
    "public.trainee_documents",
    "public.convocation_download",
    "provider.confirm_bank_details",
)
MASKED_TOKEN = "jeton-masque-apres-envoi"
_PLACEHOLDER = "SECRETTOKENPLACEHOLDER"
_READY = "outbox_ready"


def absolute_url(endpoint: str, **values) -> str:
    """A link for an email, built without a request (emails are also queued from commands and jobs)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def queue_email(
    recipient: str,
    template: str,
    *,
    organisation_id: int | None = None,
    into: Session | None = None,
    **context,
) -> OutboxMessage:
    """Render ``templates/email/<template>.txt`` (first line ``Subject: ...``) and add it to the outbox.

    ``into``: the database session to add it to (``db.session`` by default).
    """
    subject, body = _render(template, context)
    return _add(
        into if into is not None else db.session,
        OutboxMessage(
            recipient=recipient,
            subject=subject,
            body_text=body,
            template=template,
            organisation_id=organisation_id,
        ),
    )


def queue_email_later(
    recipient: str,
    template: str,
    *,
    organisation_id: int | None = None,
    as_of: tuple[str, ...] = (),
    **context,
) -> OutboxMessage:
    """Add an email to the outbox now and write it at delivery (``deliver``), still only after the commit.

    For the enrolment rush: the request renders no template and loads nothing for its emails, the delivery
    (scheduler, RQ worker) does. ``context`` holds database objects, stored by class and id and read again at
    delivery (they must have their id: flush first), lists of them, and plain values. ``as_of``: attributes of
    those objects whose value now is kept with them (an enrolment's status, a session's seats), so the email
    tells what happened at this moment even when it is written after a later change; the rest (names, titles,
    the prices frozen on the enrolment) is read at delivery. No secret may go in ``context``: it is stored.
    """
    return _add(
        db.session,
        OutboxMessage(
            recipient=recipient,
            subject=f"Rédigé à l'envoi ({template})",
            body_text="",
            template=template,
            organisation_id=organisation_id,
            render_context={name: _stored(value, as_of) for name, value in context.items()},
        ),
    )


def _add(target: Session, message: OutboxMessage) -> OutboxMessage:
    target.add(message)
    target.info.setdefault(_NEW, []).append(message)
    return message


def _render(template: str, context: dict) -> tuple[str, str]:
    context.setdefault("link_to", absolute_url)
    rendered = render_template(f"email/{template}.txt", **context)
    first, _, body = rendered.lstrip().partition("\n")
    return first.removeprefix("Subject:").strip(), body.strip() + "\n"


def _stored(value, as_of: tuple[str, ...]):
    """A context value as JSON: a database object by reference (with its ``as_of`` values), a list item by item."""
    if isinstance(value, list | tuple):
        return [_stored(item, as_of) for item in value]
    if isinstance(value, db.Model):
        if value.id is None:
            raise ValueError(f"{type(value).__name__} sans identifiant : flush avant queue_email_later")
        kept = {name: getattr(value, name) for name in as_of if hasattr(type(value), name)}
        return {"$model": type(value).__name__, "id": value.id, "as_of": kept}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"Valeur non enregistrable dans un courriel rédigé à l'envoi : {type(value).__name__}")


def _restored(session: Session, value):
    """``_stored`` read back in ``session``: each object loaded, with its ``as_of`` values set as committed
    (shown by the templates, never written back)."""
    if isinstance(value, list):
        return [_restored(session, item) for item in value]
    if isinstance(value, dict) and "$model" in value:
        model = db.Model.registry._class_registry[value["$model"]]
        obj = session.get(model, value["id"])
        if obj is None:
            raise LookupError(f"{value['$model']} {value['id']} n'existe plus")
        for name, kept in value["as_of"].items():
            set_committed_value(obj, name, kept)
        return obj
    return value


def _write_stored(session: Session, message: OutboxMessage) -> None:
    """Render a message queued by ``queue_email_later`` from what it references (in the delivery session)."""
    context = {name: _restored(session, value) for name, value in message.render_context.items()}
    message.subject, message.body_text = _render(message.template, context)
    message.render_context = None


@event.listens_for(Session, "after_flush")
def _collect_ids(session, flush_context):
    new = session.info.get(_NEW)
    if not new:
        return
    ready = session.info.setdefault(_READY, [])
    for message in list(new):
        if message.id is not None:
            ready.append(message.id)
            new.remove(message)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session):
    # SQLAlchemy also calls after_commit when a SAVEPOINT is released: wait for the real commit, else the
    # delivery (on its own connection) would not see the row, or would wait on the writer's lock.
    if session.get_nested_transaction() is not None:
        return
    ids = session.info.pop(_READY, [])
    session.info.pop(_NEW, None)
    if ids and _hand_over_after_commit():  # otherwise pending: the scheduler's delivery job sends it
        for message_id in ids:
            try:
                jobs.enqueue("outbox.deliver", message_id)
            except Exception:  # noqa: BLE001 - the change is committed; the message waits for outbox-retry
                log.exception("Courriel %s non remis à la livraison ; il reste en attente.", message_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    """A rolled-back transaction sends nothing; a rolled-back savepoint keeps the outer one's messages."""
    if previous_transaction.parent is not None:
        return
    session.info.pop(_READY, None)
    session.info.pop(_NEW, None)


def _hand_over_after_commit() -> bool:
    """RQ (Redis configured) or, in tests that ask for it, inline; otherwise the scheduler delivers."""
    config = current_app.config
    return bool(config.get("REDIS_URL")) or config.get("OUTBOX_DELIVERY") == "inline"


def _delivery_engine():
    """A pool-less engine for delivery: it runs right after a commit, while the committing session still
    holds its pooled connection, so borrowing a second one from the same pool could exhaust it under load."""
    engine = current_app.extensions.get("outbox_engine")
    if engine is None:
        engine = create_engine(db.engine.url, poolclass=NullPool)
        current_app.extensions["outbox_engine"] = engine
    return engine


def smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def _secret_link_patterns() -> list[re.Pattern]:
    """One pattern per secret link, built from its route (``/invitation/<token>``) so it follows URL changes."""
    patterns = current_app.extensions.get("outbox_secret_links")
    if patterns is None:
        adapter = current_app.url_map.bind("localhost")
        patterns = []
        for endpoint in SECRET_LINK_ENDPOINTS:
            # Other parts of the link (an organisation's slug) match any value.
            try:
                rules = list(current_app.url_map.iter_rules(endpoint))
                others = {a for rule in rules for a in rule.arguments} - {"token"}
                values = {"token": _PLACEHOLDER, **{a: f"ANYPART{a.upper()}" for a in others}}
                path = adapter.build(endpoint, values)
            except Exception:  # noqa: BLE001 - an app without that page has no such link to mask
                continue
            before, _, after = path.partition(_PLACEHOLDER)
            before, after = re.escape(before), re.escape(after)
            for a in others:
                before = before.replace(f"ANYPART{a.upper()}", "[^/]+")
                after = after.replace(f"ANYPART{a.upper()}", "[^/]+")
            patterns.append(re.compile(f"({before})[^\\s/?#<>\"']+({after})"))
        current_app.extensions["outbox_secret_links"] = patterns
    return patterns


def mask_secret_links(text: str) -> str:
    """``text`` with the token of every single-use link replaced, so the link no longer opens anything."""
    for pattern in _secret_link_patterns():
        text = pattern.sub(lambda m: f"{m.group(1)}{MASKED_TOKEN}{m.group(2)}", text)
    return text


def readable_body(message: OutboxMessage) -> str:
    """The body an operator may read: with SMTP configured, single-use links are never shown live."""
    if message.render_context is not None:
        return "Ce courriel sera rédigé à son envoi, à partir de ce qu'il concerne tel qu'il était à sa mise en attente."
    return mask_secret_links(message.body_text) if smtp_configured() else message.body_text


@jobs.job("outbox.deliver")
def deliver(message_id: int, tenant_id: int | None = None) -> str:
    """Send one message by SMTP if configured; record the outcome on its outbox row."""
    with Session(_delivery_engine()) as session:
        # Claim the message first: two workers (or a retry racing the first try) never both send it.
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(_DELIVERABLE))
            .values(status=OutboxStatus.SENDING, claimed_at=utcnow())
        ).rowcount
        session.commit()
        if not claimed:
            return "skipped"
        message = session.get(OutboxMessage, message_id)
        if message.render_context is not None:
            try:
                _write_stored(session, message)
            except Exception as exc:  # noqa: BLE001 - one message that cannot be written must not stop the others
                session.rollback()
                log.exception("Courriel %s impossible à rédiger.", message_id)
                message.status = OutboxStatus.FAILED
                message.attempts += 1
                message.last_error = f"Rédaction impossible : {exc}"[:500]
                session.commit()
                return message.status
        if not smtp_configured():
            message.status = OutboxStatus.HELD
            session.commit()
            return message.status
        message.attempts += 1
        try:
            _send_smtp(message)
        except (smtplib.SMTPException, OSError) as exc:
            message.status = OutboxStatus.FAILED
            message.last_error = str(exc)[:500]
        else:
            message.status = OutboxStatus.SENT
            message.sent_at = utcnow()
            message.last_error = None
            message.body_text = mask_secret_links(message.body_text)  # delivered: keep no usable link
        session.commit()
        return message.status


def deliver_pending(batch: int = 200, budget: timedelta = timedelta(minutes=4)) -> dict[str, int]:
    """Deliver the pending messages, oldest first (the scheduler's « envoi-courriels » job); counts by status.

    Batch after batch until none is left or ``budget`` is spent (the next run goes on). Each message is claimed
    before it is sent, so two schedulers, or this job racing an RQ worker, never send one twice, and a message
    handled leaves the pending state (a failure waits for « relance-courriels »): the loop ends. With Redis
    the workers get fresh messages right after the commit: only those they left behind for a minute are taken.
    """
    query = select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
    if current_app.config.get("REDIS_URL"):
        query = query.where(OutboxMessage.created_at < utcnow() - timedelta(minutes=1))
    query = query.order_by(OutboxMessage.id).limit(batch)
    counts: dict[str, int] = {}
    stop_at = utcnow() + budget
    while utcnow() < stop_at:
        ids = db.session.scalars(query).all()
        db.session.commit()  # end the read: delivery writes on its own connection
        if not ids:
            break
        for message_id in ids:
            status = deliver(message_id)
            counts[status] = counts.get(status, 0) + 1
    return counts


MAX_ATTEMPTS = 8  # every 10 minutes: a message still refused after about 1 h 20 waits for the operator


def retry_failed(stale_after: timedelta = timedelta(minutes=10)) -> int:
    """Hand failed messages, and pending or sending ones left behind for a while, to delivery again.

    The scheduler's « relance-courriels » job (also `flask outbox-retry`). Fresh pending messages are left alone: they are
    probably still in the queue, and sending them now could send them twice. A message that failed
    ``MAX_ATTEMPTS`` times (an address the server refuses, an email that cannot be written) is no longer
    retried by itself: it stays « Échec » with its error in the operator's outbox.
    """
    stale = utcnow() - stale_after
    ids = db.session.scalars(
        select(OutboxMessage.id).where(
            ((OutboxMessage.status == OutboxStatus.FAILED) & (OutboxMessage.attempts < MAX_ATTEMPTS))
            | ((OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.created_at < stale))
            | ((OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.claimed_at < stale))
        )
    ).all()
    if ids:
        # A message stuck in "sending" (worker killed mid-way) becomes deliverable again.
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status=OutboxStatus.FAILED)
        )
        db.session.commit()
    for message_id in ids:
        jobs.enqueue("outbox.deliver", message_id)
    return len(ids)


def _send_smtp(message: OutboxMessage) -> None:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="marketplace.local")
    email.set_content(message.body_text)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(email)
