"""`flask suspend-expired-referencings`: the daily Qualiopi check of referenced training organisations."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask

from marketplace.extensions import db
from marketplace.formatting import plural


def register(app: Flask) -> None:
    @app.cli.command("suspend-expired-referencings")
    @click.option(
        "--date",
        "on_day",
        default=None,
        help="Jour de référence (AAAA-MM-JJ) ; par défaut aujourd'hui (Paris).",
    )
    def suspend_expired_referencings(on_day: str | None) -> None:
        """Suspend les référencements des organismes dont le certificat Qualiopi a expiré.

        Tâche « suspension-qualiopi » du planificateur (chaque jour) ; peut aussi être lancée à la main,
        pour aujourd'hui (à travers le verrou de la tâche) ou pour un autre jour (--date).
        """
        from marketplace.cli_scheduler import run_one
        from marketplace.services import referencing_registry

        if not on_day:
            run_one("suspension-qualiopi")
            return
        try:
            today = date.fromisoformat(on_day)
        except ValueError:
            click.echo("Erreur : la date doit s'écrire AAAA-MM-JJ, par exemple 2026-03-31.", err=True)
            raise click.exceptions.Exit(1) from None
        count = referencing_registry.suspend_expired(today)
        db.session.commit()
        click.echo(f"{plural(count, 'référencement suspendu')} pour certificat Qualiopi expiré.")
