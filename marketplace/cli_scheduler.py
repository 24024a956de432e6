"""`flask scheduler` (the one process that runs the periodic jobs) and `flask run-job NAME` (one job, once).

Both go through ``services.scheduler.run_job``: the job's database lock, its own transaction, its last run
recorded for the operator. The older one-job commands (`flask expire-offers`…) call ``run_one`` too.
"""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app

from marketplace.services.errors import DomainError


def run_one(name: str) -> None:
    """Run one registered job now through its lock; print its French result, exit 1 if it failed."""
    from marketplace.models import JobStatus
    from marketplace.services import scheduler

    try:
        result = scheduler.run_job(name, trigger="command")
    except DomainError as error:
        click.echo(f"Erreur : {error.message}", err=True)
        raise click.exceptions.Exit(1) from None
    if result.ran and result.status == JobStatus.FAILED:
        click.echo(result.message, err=True)
        raise click.exceptions.Exit(1)
    click.echo(result.message)


def register(app: Flask) -> None:
    @app.cli.command("scheduler")
    def scheduler_command() -> None:
        """Lance le planificateur : exécute les tâches périodiques jusqu'à l'arrêt (Ctrl+C ou SIGTERM).

        Un seul planificateur suffit en production ; en lancer deux par erreur ne fait pas le travail deux
        fois (chaque exécution prend le verrou de sa tâche dans la base).
        """
        from marketplace.services import scheduler

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s : %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per run every 10 s
        jobs = scheduler.registered()
        click.echo("Planificateur démarré ; tâches :")
        for job in jobs:
            click.echo(f"  {job.name:<26} {job.period_text:<24} {job.label}")
        scheduler.run_forever(current_app._get_current_object())
        click.echo("Planificateur arrêté.")

    @app.cli.command("run-job")
    @click.argument("name", required=False)
    def run_job_command(name: str | None) -> None:
        """Exécute une fois la tâche planifiée NAME (sans NAME : la liste des tâches)."""
        from marketplace.services import scheduler

        if not name:
            for job in scheduler.registered():
                click.echo(f"{job.name:<26} {job.period_text:<24} {job.label}")
            return
        run_one(name)
