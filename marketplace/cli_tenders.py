"""Flask command for calls for tenders: close those whose submission deadline has come (for a scheduler)."""

from __future__ import annotations


def register(app) -> None:
    @app.cli.command("close-tenders")
    def close_tenders() -> None:
        """Clôt les appels d'offres publiés dont la date limite de dépôt est atteinte.

        Tâche « cloture-appels-offres » du planificateur (toutes les 5 minutes). Sans lui, un appel d'offres
        est clos de toute façon dès qu'un OPCO ou un organisme le consulte après la date limite.
        """
        from marketplace.cli_scheduler import run_one

        run_one("cloture-appels-offres")
