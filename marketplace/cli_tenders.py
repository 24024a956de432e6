"""Flask command for calls for tenders: close those whose submission deadline has come (for a scheduler)."""

from __future__ import annotations

import click

from marketplace.extensions import db
from marketplace.formatting import plural


def register(app) -> None:
    @app.cli.command("close-tenders")
    def close_tenders() -> None:
        """Clôt les appels d'offres publiés dont la date limite de dépôt est atteinte.

        À lancer par un planificateur (toutes les 5 minutes par exemple). Sans lui, un appel d'offres est
        clos de toute façon dès qu'un OPCO ou un organisme le consulte après la date limite.
        """
        from marketplace.services import tenders

        count = tenders.close_due_tenders()
        db.session.commit()
        click.echo(f"{plural(count, 'appel')} d'offres clos.")
