"""Emails: written to the outbox in the same transaction as their cause, delivered only after commit.

A rolled-back change leaves no message behind; a committed one is handed to delivery (inline or RQ).
Without SMTP settings the message stays in the outbox, marked as held, where operators can read it.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.models import OutboxMessage, OutboxStatus, utcnow
from marketplace.services import jobs

_NEW = "outbox_new"
_READY = "outbox_ready"


def absolute_url(endpoint: str, **values) -> str:
    """A link for an email, built without a request (emails are also queued from commands and jobs)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def queue_email(
    recipient: str, template: str, *, organisation_id: int | None = None, **context
) -> OutboxMessage:
    """Render ``templates/email/<template>.txt`` (first line ``Subject: ...``) and add it to the outbox."""
    context.setdefault("link_to", absolute_url)
    rendered = render_template(f"email/{template}.txt", **context)
    first, _, body = rendered.lstrip().partition("\n")
    subject = first.removeprefix("Subject:").strip()
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body_text=body.strip() + "\n",
        template=template,
        organisation_id=organisation_id,
    )
    db.session.add(message)
    db.session.info.setdefault(_NEW, []).append(message)
    return message


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
    ids = session.info.pop(_READY, [])
    session.info.pop(_NEW, None)
    for message_id in ids:
        jobs.enqueue("outbox.deliver", message_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    session.info.pop(_READY, None)
    session.info.pop(_NEW, None)


def smtp_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


@jobs.job("outbox.deliver")
def deliver(message_id: int, tenant_id: int | None = None) -> str:
    """Send one message by SMTP if configured; record the outcome on its outbox row."""
    with Session(db.engine) as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status == OutboxStatus.SENT:
            return "skipped"
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
        session.commit()
        return message.status


def retry_failed() -> int:
    """Hand every failed or pending message to delivery again (run by `flask outbox-retry`)."""
    ids = db.session.scalars(
        db.select(OutboxMessage.id).where(OutboxMessage.status.in_([OutboxStatus.FAILED, OutboxStatus.PENDING]))
    ).all()
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
