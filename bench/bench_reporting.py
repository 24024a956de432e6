"""Benchmark of the OPCO « Pilotage » figures (services.reporting) on a large marketplace.

    .venv/bin/python bench/bench_reporting.py --database-url sqlite:////tmp/bench_reporting.db \
        --sessions 20000 --enrolments 200000

Creates the tables and generates the data when the database is empty (``marketplace.services.generate``, the
same code as ``flask generate``; it makes sessions and enrolments, not invoices), then times, for the OPCO
with the most enrolments, the whole figures page's read model (``reporting_pages.overview``: 5 choice lists
and 14 aggregate statements) without filter and with a session filter and a company filter, and one page of
a drill-down list. Prints the median and the worst of ``--runs`` runs in milliseconds, and the statements.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, inspect, select  # noqa: E402

from bench.bench_catalogue import ensure_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--enrolments", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ensure_database(args.database_url)

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Enrolment, Opco, TrainingSession
    from marketplace.services import generate, reporting_pages
    from marketplace.services.reference_data import load_reference_data
    from marketplace.services.reporting import Filters

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url,
            "SECRET_KEY": "bench",
            "ENV_NAME": "test",
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": None,
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        if not inspect(db.engine).has_table("training_sessions"):
            db.create_all()
        load_reference_data()
        db.session.commit()
        if not db.session.scalar(select(func.count(TrainingSession.id))):
            print(f"Génération de {args.sessions} sessions et {args.enrolments} inscriptions…")
            generate.generate(args.sessions, args.enrolments, seed=1)
            db.session.commit()
            generate.analyze()
            db.session.commit()
        opco_id, count = db.session.execute(
            select(Enrolment.opco_id, func.count())
            .group_by(Enrolment.opco_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        opco = db.session.get(Opco, opco_id)
        print(f"Base {db.engine.dialect.name} : OPCO {opco.name}, {count} inscriptions")
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        cases = [
            ("page, sans filtre", lambda: reporting_pages.overview(opco, Filters())),
            ("page, région 84", lambda: reporting_pages.overview(opco, Filters(region="84"))),
            ("page, taille <11", lambda: reporting_pages.overview(opco, Filters(band="<11"))),
            (
                "liste des inscriptions, page 3",
                lambda: reporting_pages.enrolments(opco, Filters(), closed_only=False, page=3),
            ),
        ]
        for label, run in cases:
            times = []
            for _ in range(args.runs):
                statements.clear()
                started = time.perf_counter()
                run()
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            print(
                f"{label:32} médiane {statistics.median(times):7.1f} ms  pire {max(times):7.1f} ms  "
                f"{len(statements)} requêtes"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
