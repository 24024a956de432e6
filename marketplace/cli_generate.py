"""`flask generate`: a large synthetic marketplace for performance measurements (see bench/README.md);
`flask rebuild-search`: the text-search index rebuilt from the tables (services/search_index.py)."""

from __future__ import annotations

import time

import click
from flask import Flask

from marketplace.extensions import db


def register(app: Flask) -> None:
    @app.cli.command("generate")
    @click.option("--sessions", default=100_000, show_default=True, help="Nombre de sessions à créer.")
    @click.option("--enrolments", default=1_000_000, show_default=True, help="Nombre d'inscriptions à créer.")
    @click.option(
        "--seed", default=1, show_default=True, help="Graine du générateur (mêmes données à graine égale)."
    )
    def generate_command(sessions: int, enrolments: int, seed: int) -> None:
        """Génère une place de marché fictive de grande taille (tests de performance, jamais en production)."""
        from marketplace.services import generate

        click.echo(
            f"Génération de {sessions:,} sessions et {enrolments:,} inscriptions (graine {seed})…".replace(
                ",", " "
            )
        )
        report = generate.generate(sessions, enrolments, seed=seed, progress=click.echo)
        db.session.commit()
        started = time.perf_counter()
        generate.analyze()
        db.session.commit()
        click.echo(f"Statistiques du planificateur (ANALYZE) : {time.perf_counter() - started:.1f} s")
        click.echo(f"Terminé en {report.seconds['total']:.1f} s.")

    @app.cli.command("rebuild-search")
    def rebuild_search_command() -> None:
        """Reconstruit l'index de recherche plein texte (actions, noms des organisations)."""
        from marketplace.services import search_index

        started = time.perf_counter()
        counts = search_index.rebuild()
        db.session.commit()
        summary = ", ".join(f"{n:,} {name}".replace(",", " ") for name, n in counts.items())
        click.echo(f"Index de recherche reconstruit en {time.perf_counter() - started:.1f} s : {summary}.")
