"""`flask` commands: reference data, OPCOs, operators, demo data, the RQ worker and the outbox.

Each command runs inside the app context (Flask's ``app.cli`` pushes it) and commits once at the end;
a refused operation (``DomainError``) rolls back, prints the French message and exits with status 1.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app

from marketplace.extensions import db
from marketplace.formatting import paris_today
from marketplace.services.errors import DomainError

PARIS = ZoneInfo("Europe/Paris")


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"Erreur : {message}", err=True)
    raise click.exceptions.Exit(1)


def init_app(app: Flask) -> None:
    from marketplace import cli_referencings, cli_scheduler, cli_tenders
    from marketplace.cli_generate import register as register_generate

    register_generate(app)
    cli_scheduler.register(app)
    cli_tenders.register(app)
    cli_referencings.register(app)
    from marketplace import cli_retention

    cli_retention.register(app)

    @app.cli.command("load-reference")
    @click.argument("fichier", required=False, type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--source",
        default="France Compétences, table de correspondance IDCC-OPCO",
        help="Source enregistrée sur chaque ligne importée de FICHIER.",
    )
    @click.option(
        "--date",
        "source_date",
        default=None,
        help="Date de publication de FICHIER (aaaa-mm-jj ; défaut : aujourd'hui).",
    )
    def load_reference(fichier: str | None, source: str, source_date: str | None) -> None:
        """Charge (ou met à jour) les données de référence : OPCO, IDCC, régions, thèmes.

        FICHIER (facultatif) : la table de correspondance IDCC → OPCO de France Compétences, importée à la
        place des lignes livrées qu'elle couvre. CSV séparé par « ; » ou « , » (UTF-8 ou Windows-1252) dont
        l'en-tête comporte au moins les colonnes IDCC et OPCO (nom de l'OPCO, par exemple « OPCO 2i »), et
        éventuellement Libellé (ou Intitulé) de la convention.
        """
        from marketplace.services.reference_data import import_france_competences, load_reference_data

        counts = load_reference_data()
        click.echo(
            "Données de référence chargées : "
            f"{counts['ref_opcos']} OPCO, {counts['ref_idcc']} branches (IDCC), "
            f"{counts['ref_regions']} régions, {counts['ref_themes']} thèmes."
        )
        if fichier:
            try:
                published = date.fromisoformat(source_date) if source_date else paris_today()
            except ValueError:
                _fail("La date doit s'écrire aaaa-mm-jj.")
            try:
                report = import_france_competences(
                    Path(fichier).read_bytes(),
                    source=f"{source} ({Path(fichier).name})",
                    source_date=published,
                )
            except DomainError as error:
                db.session.rollback()
                _fail(error.message)
            for line in report.errors:
                click.echo(line, err=True)
            click.echo(
                f"Table de France Compétences : {report.added} IDCC ajouté(s), {report.updated} mis à jour, "
                f"{report.unchanged} inchangé(s), {len(report.errors)} ligne(s) ignorée(s)."
            )
        db.session.commit()

    @app.cli.command("create-opco")
    @click.argument("code")
    @click.option(
        "--idcc",
        "idcc_codes",
        multiple=True,
        help="IDCC couvert (répétable) ; par défaut ceux de la table de référence.",
    )
    def create_opco(code: str, idcc_codes: tuple[str, ...]) -> None:
        """Crée un OPCO de la liste de référence (akto, atlas, opcoep…)."""
        from marketplace.services import organisations

        try:
            opco = organisations.create_opco(
                code.strip().lower(), actor=None, idcc_codes=list(idcc_codes) or None
            )
            db.session.commit()
        except DomainError as exc:
            _fail(exc.message)
            return
        branches = ", ".join(opco.idcc_codes) or "aucune"
        click.echo(f"OPCO créé : {opco.name} (code {opco.code}, adresse /opco/{opco.slug}).")
        click.echo(f"Branches couvertes ({len(opco.idcc_codes)}) : {branches}.")

    @app.cli.command("create-operator")
    @click.argument("email")
    @click.argument("name")
    @click.password_option(
        "--password",
        prompt="Mot de passe",
        confirmation_prompt="Confirmez le mot de passe",
        help="Mot de passe (demandé s'il n'est pas donné).",
    )
    def create_operator(email: str, name: str, password: str) -> None:
        """Crée un compte d'opérateur de la plateforme."""
        from marketplace.services import accounts

        try:
            user = accounts.create_user(email, name, password, is_operator=True)
            db.session.commit()
        except DomainError as exc:
            _fail(exc.message)
            return
        click.echo(f"Opérateur créé : {user.full_name} <{user.email}>.")

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Charge les données de démonstration (sans effet si elles sont déjà présentes)."""
        from marketplace.services import demo

        try:
            result = demo.seed_demo(today=paris_today())
            if result.created:
                db.session.commit()
        except DomainError as exc:
            _fail(exc.message)
            return
        if not result.created:
            click.echo("Données de démonstration déjà présentes : rien n'a été modifié.")
        else:
            click.echo(
                f"Données de démonstration créées : {result.organisations} organisations, "
                f"{result.users} comptes, {result.invitations} invitations en attente."
            )
            m = result.marketplace
            click.echo(
                f"Place de marché : {m.get('actions', 0)} actions collectives publiées, "
                f"{m.get('referencings', 0)} référencements, {m.get('sessions', 0)} sessions, "
                f"{m.get('enrolments', 0)} inscriptions, {m.get('tenders', 0)} appels d'offres."
            )
        click.echo(demo_logins_text())

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Traite les tâches en attente puis s'arrête.")
    def worker(burst: bool) -> None:
        """Lance un worker RQ sur la file « marketplace » (REDIS_URL requis)."""
        redis_url = current_app.config.get("REDIS_URL")
        if not redis_url:
            _fail(
                "REDIS_URL n'est pas défini : sans Redis, les tâches s'exécutent directement, "
                "aucun worker n'est nécessaire."
            )
            return
        from redis import Redis
        from rq import Worker

        class AppWorker(Worker):
            """Forks a work horse per job; the horse opens its own database connections."""

            def main_work_horse(self, job, queue):
                db.engine.dispose(close=False)  # never share the parent's pooled connections
                return super().main_work_horse(job, queue)

        db.engine.dispose()
        rq_worker = AppWorker(["marketplace"], connection=Redis.from_url(redis_url))
        rq_worker.work(burst=burst)

    @app.cli.command("outbox-retry")
    def outbox_retry() -> None:
        """Relance l'envoi des e-mails en échec ou en attente (tâche « relance-courriels »)."""
        from marketplace.cli_scheduler import run_one

        run_one("relance-courriels")

    @app.cli.command("expire-offers")
    def expire_offers() -> None:
        """Clôt les places proposées non acceptées à temps et propose la place à la personne suivante.

        Tâche « expiration-propositions » du planificateur (toutes les 5 minutes) ; peut aussi être lancée à
        la main.
        """
        from marketplace.cli_scheduler import run_one

        run_one("expiration-propositions")

    @app.cli.command("send-convocations")
    def send_convocations() -> None:
        """Envoie les convocations dues (N jours avant le début, réglage de l'OPCO) et celles à refaire.

        Tâche « envoi-convocations » du planificateur (chaque jour) ; sans effet si elle est relancée.
        """
        from marketplace.cli_scheduler import run_one

        run_one("envoi-convocations")


def demo_logins_text() -> str:
    from marketplace.services.demo import DEMO_LOGINS, DEMO_PASSWORD

    lines = ["Comptes de démonstration (mot de passe : " + DEMO_PASSWORD + ") :"]
    lines += [f"  {email:<24} {label}" for email, label in DEMO_LOGINS]
    return "\n".join(lines)
