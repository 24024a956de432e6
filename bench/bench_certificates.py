"""Benchmark of the certificates' generation: both documents for every trainee of delivered sessions.

    .venv/bin/python bench/bench_certificates.py                       # SQLite file in a temp folder
    .venv/bin/python bench/bench_certificates.py --sessions 84 --trainees 12 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_certificates

Builds, in a fresh database, ``--sessions`` delivered sessions of ``--trainees`` closed enrolments each
(organisations, actions and sessions from the test factories, enrolments
written closed directly, as the closing leaves them), then runs the real job
(``services.certificates.generate_for_session``: render the certificat de réalisation and the attestation
de fin de formation with WeasyPrint, store them with their hash, email each trainee a personal link, commit
per trainee) for each session in turn, in one process, as one worker would. Prints the time of the first
session (cold: WeasyPrint's import and fonts), the median and max of the others, the total for all the
trainees, and the time of a second run (idempotent: nothing to issue). See bench/README.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ensure_fresh_database(url: str) -> None:
    """PostgreSQL: drop and create the database named in the URL (the benchmark starts empty)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    import psycopg

    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}"')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="par défaut : un fichier SQLite temporaire")
    parser.add_argument("--sessions", type=int, default=84, help="sessions clôturées (84 par défaut)")
    parser.add_argument("--trainees", type=int, default=12, help="stagiaires par session (12 par défaut)")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its INFO lines cost time and hide the figures

    workdir = Path(tempfile.mkdtemp(prefix="bench_certificates_"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    ensure_fresh_database(url)

    from sqlalchemy import func, select

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Document, Employee, Enrolment, utcnow
    from marketplace.services import certificates
    from marketplace.services.reference_data import load_reference_data
    from tests.factories import Factories

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "ENV_NAME": "test",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "STORAGE_DIR": str(workdir / "files"),
            "BASE_URL": "http://127.0.0.1:8000",
        }
    )
    with app.app_context():
        db.create_all()
        load_reference_data()
        db.session.commit()
        make = Factories()
        t0 = time.perf_counter()
        provider = make.provider(name="Organisme de formation du banc d'essai")
        provider.signatory_name, provider.signatory_title = "Claire Directrice", "Directrice"
        companies = [make.company(name=f"Entreprise {n + 1}", headcount=250) for n in range(args.trainees)]
        session_ids = []
        for n in range(args.sessions):
            action = make.action(title=f"Action collective {n + 1}", objectives="Acquérir les bases.")
            action.assessment_method = "QCM et mise en situation."
            session = make.session(action, provider, status="delivered", capacity_max=args.trainees + 1)
            session.delivered_at = utcnow()
            for i, company in enumerate(companies):
                employee = Employee(
                    company_id=company.id,
                    last_name=f"Stagiaire{n + 1:03d}",
                    first_name=f"Prénom{i + 1:02d}",
                    email=f"stagiaire{n + 1}-{i + 1}@exemple.test",
                )
                db.session.add(employee)
                db.session.flush()
                partial = i % 4 == 0
                db.session.add(
                    Enrolment(
                        session_id=session.id,
                        company_id=company.id,
                        employee_id=employee.id,
                        opco_id=session.opco_id,
                        provider_id=provider.id,
                        status="closed",
                        outcome="partially_attended" if partial else "attended",
                        price_cents=session.price_cents,
                        funded_cents=session.price_cents,
                        remainder_cents=0,
                        size_band=company.size_band,
                        planned_minutes=840,
                        attended_minutes=630 if partial else 840,
                        closed_at=utcnow(),
                    )
                )
            session.seats_held = args.trainees
            db.session.commit()
            session_ids.append(session.id)
        print(
            f"Préparation : {args.sessions} sessions × {args.trainees} stagiaires en "
            f"{time.perf_counter() - t0:.0f} s ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]})"
        )

        timings = []
        issued = 0
        started = time.perf_counter()
        for session_id in session_ids:
            t = time.perf_counter()
            issued += certificates.generate_for_session(session_id, tenant_id=provider.id)
            timings.append(time.perf_counter() - t)
        total = time.perf_counter() - started
        trainees = args.sessions * args.trainees
        stored = db.session.scalar(select(func.count(Document.id)))
        size = db.session.scalar(select(func.sum(Document.size_bytes))) or 0
        assert issued == stored == 2 * trainees, (issued, stored)

        t = time.perf_counter()
        again = sum(certificates.generate_for_session(s) for s in session_ids[:10])
        rerun = (time.perf_counter() - t) / min(10, len(session_ids))

        rest = timings[1:] or timings
        print(f"Documents émis : {issued} ({trainees} stagiaires × 2), {size / 1024 / 1024:.1f} Mo stockés")
        print(f"Première session de {args.trainees} stagiaires (à froid) : {timings[0]:.2f} s")
        print(
            f"Session de {args.trainees} stagiaires : médiane {statistics.median(rest):.2f} s, "
            f"max {max(rest):.2f} s, soit {statistics.median(rest) / (2 * args.trainees) * 1000:.0f} ms "
            "par document"
        )
        print(f"Total pour {trainees} stagiaires : {total:.1f} s ({total / 60:.1f} min)")
        print(f"Seconde exécution (rien à émettre) : {rerun * 1000:.0f} ms par session, {again} document")
    return 0


if __name__ == "__main__":
    sys.exit(main())
