"""The platform's periodic jobs, one decorated function each (see ``services/scheduler`` for the rules).

Each one is idempotent: run twice, or after a crash, it does the work once (the state it reads is what it
changes). Add a job here with ``@periodic(name, label=..., every=... | daily_at="HH:MM")``; it then runs in
`flask scheduler`, with `flask run-job NAME` and from the operator's « Tâches planifiées » page.
"""

from __future__ import annotations

from datetime import timedelta

from marketplace.formatting import paris_today, plural
from marketplace.models import OutboxStatus
from marketplace.services import (
    authentication,
    convocations,
    export_jobs,
    outbox,
    referencing_registry,
    retention,
    surveys,
    tenders,
    waitlist,
)
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
        f"{plural(sent, 'courriel envoyé')}, {failed} en échec, {plural(held, 'conservé')} sans SMTP.",
    )


@periodic("relance-courriels", label="Relance des courriels en échec", every=timedelta(minutes=5))
def retry_outbox() -> Outcome:
    count = outbox.retry_failed()
    return Outcome(count, f"{plural(count, 'e-mail remis')} en file d'envoi.")


@periodic(
    "expiration-propositions",
    label="Expiration des places proposées non acceptées",
    every=timedelta(minutes=5),
)
def expire_offers() -> Outcome:
    count = waitlist.expire_offers()
    expired = plural(count, "expirée", with_count=False)
    return Outcome(
        count, f"{plural(count, 'proposition')} de place {expired} ; places libérées proposées aux suivants."
    )


@periodic("cloture-appels-offres", label="Clôture des appels d'offres échus", every=timedelta(minutes=5))
def close_tenders() -> Outcome:
    count = tenders.close_due_tenders()
    return Outcome(count, f"{plural(count, 'appel')} d'offres clos.")


@periodic(
    "suspension-qualiopi",
    label="Suspension des référencements (Qualiopi expiré)",
    daily_at="02:00",
)
def suspend_expired_referencings() -> Outcome:
    count = referencing_registry.suspend_expired(paris_today())
    return Outcome(count, f"{plural(count, 'référencement suspendu')} pour certificat Qualiopi expiré.")


@periodic(
    "purge-connexions",
    label="Purge des anciennes tentatives de connexion",
    daily_at="03:30",
)
def purge_login_records() -> Outcome:
    throttles, attempts = authentication.purge_login_records()
    return Outcome(
        throttles + attempts,
        f"{plural(throttles, 'compteur')} de connexion {plural(throttles, 'oublié', with_count=False)} et "
        f"{plural(attempts, 'tentative ancienne')} {plural(attempts, 'supprimée', with_count=False)}.",
    )


@periodic(
    "purge-conservation",
    label="Fin de conservation des preuves de formation",
    daily_at="04:00",
)
def purge_retention() -> Outcome:
    report = retention.purge(paris_today())
    return Outcome(report.documents + report.links + report.employees, report.summary())


@periodic("envoi-convocations", label="Envoi des convocations (J-N avant chaque session)", daily_at="06:00")
def send_convocations() -> Outcome:
    count = convocations.send_due()
    return Outcome(count, f"{plural(count, 'convocation envoyée')}.")


@periodic(
    "rapprochement-stripe",
    label="Rapprochement des paiements par carte en cours depuis plus d'une heure",
    every=timedelta(minutes=15),
)
def reconcile_card_payments() -> Outcome:
    from marketplace.services import stripe_webhooks

    count = stripe_webhooks.reconcile()
    return Outcome(count, f"{plural(count, 'facture')} mise(s) à jour d'après Stripe.")


@periodic(
    "envoi-questionnaires",
    label="Questionnaires de satisfaction (à chaud, à froid J+60, relance)",
    daily_at="07:00",
)
def send_surveys() -> Outcome:
    count = surveys.send_due()
    return Outcome(count, f"{plural(count, 'questionnaire envoyé')} (relances comprises).")


@periodic(
    "exports",
    label="Production des exports demandés",
    every=timedelta(seconds=5),
    lease=timedelta(hours=2),  # a million rows take minutes; each export is claimed on its own
)
def run_exports() -> Outcome:
    count = export_jobs.run_waiting()
    return Outcome(count, f"{plural(count, 'export produit')}.")


@periodic("purge-exports", label="Suppression des exports expirés", daily_at="04:30")
def purge_exports() -> Outcome:
    count = export_jobs.purge_expired()
    return Outcome(
        count, f"{plural(count, 'fichier')} d'export {plural(count, 'supprimé', with_count=False)}."
    )
