"""`flask purge-retention`: delete the proofs whose retention period has ended (services.retention)."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask

from marketplace.extensions import db
from marketplace.formatting import paris_today


def register(app: Flask) -> None:
    @app.cli.command("purge-retention")
    @click.option(
        "--date",
        "on_day",
        default=None,
        help="Jour de référence (AAAA-MM-JJ) ; par défaut aujourd'hui (Paris).",
    )
    def purge_retention(on_day: str | None) -> None:
        """Supprime les fichiers des documents dont la durée de conservation est écoulée (trace conservée).

        À lancer chaque jour par un planificateur ; peut aussi être lancée à la main (sans effet la 2e fois).
        """
        from marketplace.services import retention

        try:
            today = date.fromisoformat(on_day) if on_day else paris_today()
        except ValueError:
            raise click.ClickException("Date invalide : attendu AAAA-MM-JJ.") from None
        report = retention.purge(today)
        db.session.commit()
        click.echo(report.summary())
