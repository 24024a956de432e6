"""Benchmark of issuing invoices: draft and issue every invoice of delivered sessions.

    .venv/bin/python bench/bench_invoices.py --sessions 40                # SQLite file in a temp folder
    .venv/bin/python bench/bench_invoices.py --sessions 20 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_invoices

Builds, in a fresh database, ``--sessions`` delivered sessions of ``--trainees`` closed enrolments from two
companies (OPCO funds 80 %: each session gives one OPCO invoice and two company invoices), then, session by
session, as the « Préparer les factures » and « Émettre » buttons would: ``invoicing.draft_for_session`` then
``invoicing.issue`` of each draft (gap-free number under the sequence row lock, frozen mentions, PDF/A-3 with
Factur-X XML checked against the XSD, stored with its hash, payer emailed), one commit per invoice. Prints
the cold first session, the median per session and per invoice, the total, and the projection to 1 000
sessions (the 1 000 are not all run in a few minutes on a shared 2-vCPU machine: say so when extrapolating).
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

from bench.bench_certificates import ensure_fresh_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="par défaut : un fichier SQLite temporaire")
    parser.add_argument("--sessions", type=int, default=40, help="sessions clôturées (40 par défaut)")
    parser.add_argument("--trainees", type=int, default=8, help="stagiaires par session (8 par défaut)")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)

    workdir = Path(tempfile.mkdtemp(prefix="bench_invoices_"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    ensure_fresh_database(url)

    from sqlalchemy import func, select

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Employee, Enrolment, Invoice, TrainingSession, utcnow
    from marketplace.services import invoicing
    from marketplace.services.identifiers import SIZE_BANDS
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
        provider = make.provider(name="Organisme de formation du banc d'essai", vat_regime="assujetti")
        companies = [make.company(name=f"Entreprise {n + 1}", headcount=250) for n in range(2)]
        session_ids = []
        for n in range(args.sessions):
            action = make.action(title=f"Action collective {n + 1}", shares={b: 80 for b, *_ in SIZE_BANDS})
            session = make.session(action, provider, status="delivered", capacity_max=args.trainees + 1)
            session.delivered_at = utcnow()
            for i in range(args.trainees):
                company = companies[i % 2]
                employee = Employee(
                    company_id=company.id, last_name=f"Stagiaire{n + 1:03d}", first_name=f"Prénom{i + 1:02d}"
                )
                db.session.add(employee)
                db.session.flush()
                partial = i % 4 == 0
                price, vat = session.price_cents, session.price_cents // 5
                db.session.add(
                    Enrolment(
                        session_id=session.id,
                        company_id=company.id,
                        employee_id=employee.id,
                        opco_id=session.opco_id,
                        provider_id=provider.id,
                        status="closed",
                        outcome="partially_attended" if partial else "attended",
                        price_cents=price,
                        funded_cents=price * 4 // 5,
                        remainder_cents=price - price * 4 // 5,
                        vat_rate=0.2,
                        vat_cents=vat,
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
            f"{time.perf_counter() - t0:.0f} s ({url.split(':')[0]})"
        )

        timings, per_invoice = [], []
        started = time.perf_counter()
        for session_id in session_ids:
            t = time.perf_counter()
            drafts = invoicing.draft_for_session(db.session.get(TrainingSession, session_id), None)
            db.session.commit()
            for invoice in drafts:
                ti = time.perf_counter()
                invoicing.issue(invoice, None)
                db.session.commit()
                per_invoice.append(time.perf_counter() - ti)
            timings.append(time.perf_counter() - t)
        total = time.perf_counter() - started
        issued = db.session.scalar(select(func.count(Invoice.id)).where(Invoice.status == "issued"))
        numbers = db.session.scalars(select(Invoice.sequence).order_by(Invoice.sequence)).all()
        assert numbers == list(range(1, issued + 1)), "gap or duplicate"
        rest = timings[1:] or timings
        median = statistics.median(rest)
        print(
            f"Factures émises : {issued} ({issued / args.sessions:.0f} par session), numéros 1..{issued} sans trou"
        )
        print(f"Première session (à froid) : {timings[0]:.2f} s")
        print(
            f"Par session : médiane {median:.2f} s, max {max(rest):.2f} s ; par facture : médiane "
            f"{statistics.median(per_invoice[1:] or per_invoice) * 1000:.0f} ms"
        )
        print(f"Total pour {args.sessions} sessions : {total:.1f} s")
        print(
            f"Projection pour 1 000 sessions (médiane × 1 000, un seul processus) : {median * 1000 / 60:.0f} min"
            + ("" if args.sessions >= 1000 else f" — extrapolé de {args.sessions} sessions mesurées")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
