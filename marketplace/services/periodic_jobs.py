"""The platform's periodic jobs, one decorated function each (see ``services/scheduler`` for the rules).

Each one is idempotent: run twice, or after a crash, it does the work once (the state it reads is what it
changes). Add a job here with ``@periodic(name, label=..., every=... | daily_at="HH:MM")``; it then runs in
`flask scheduler`, with `flask run-job NAME` and from the operator's « Tâches planifiées » page.
"""

from __future__ import annotations

from datetime import timedelta

from marketplace.formatting import paris_today
from marketplace.models import OutboxStatus
from marketplace.services import authentication, enrolments, outbox, referencing_registry, tenders
from marketplace.services.scheduler import Outcome, periodic


@periodic(
    "envoi-courriels",
    label="Envoi des courriels en attente",
    every=timedelta(seconds=10),
    lease=timedelta(minutes=10),  # a run stops taking new batches after 4 minutes
)
def deliver_outbox() -> Outcome:
    counts = outbox.deliver_pending()
    sent, failed = counts.get(OutboxStatus.SENT, 0), counts.get(OutboxStatus.FAILED, 0)
    held = counts.get(OutboxStatus.HELD, 0)
    return Outcome(
        sent + failed + held,
        f"{sent} courriel(s) envoyé(s), {failed} en échec, {held} conservé(s) sans SMTP.",
    )


@periodic("relance-courriels", label="Relance des courriels en échec", every=timedelta(minutes=5))
def retry_outbox() -> Outcome:
    count = outbox.retry_failed()
    return Outcome(count, f"{count} e-mail(s) remis en file d'envoi.")


@periodic(
    "expiration-propositions",
    label="Expiration des places proposées non acceptées",
    every=timedelta(minutes=5),
)
def expire_offers() -> Outcome:
    count = enrolments.expire_offers()
    return Outcome(
        count, f"{count} proposition(s) de place expirée(s) ; places libérées proposées aux suivants."
    )


@periodic("cloture-appels-offres", label="Clôture des appels d'offres échus", every=timedelta(minutes=5))
def close_tenders() -> Outcome:
    count = tenders.close_due_tenders()
    return Outcome(count, f"{count} appel(s) d'offres clos.")


@periodic(
    "suspension-qualiopi",
    label="Suspension des référencements (Qualiopi expiré)",
    daily_at="02:00",
)
def suspend_expired_referencings() -> Outcome:
    count = referencing_registry.suspend_expired(paris_today())
    return Outcome(count, f"{count} référencement(s) suspendu(s) pour certificat Qualiopi expiré.")


@periodic(
    "purge-connexions",
    label="Purge des anciennes tentatives de connexion",
    daily_at="03:30",
)
def purge_login_records() -> Outcome:
    throttles, attempts = authentication.purge_login_records()
    return Outcome(
        throttles + attempts,
        f"{throttles} compteur(s) de connexion oublié(s) et {attempts} tentative(s) ancienne(s) supprimé(s).",
    )
