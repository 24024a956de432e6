"""Benchmark of an OPCO payment batch: 5 000 validated invoices → one batch and its SEPA file, then paid.

    .venv/bin/python bench/bench_payments.py                         # SQLite file in a temp folder
    .venv/bin/python bench/bench_payments.py --invoices 5000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_payments

Builds, in a fresh database, one OPCO with its debit account, ``--providers`` training organisations with a
confirmed IBAN, one delivered session each, and ``--invoices`` validated OPCO invoices (one line each) spread
over them, written directly as control leaves them. Then times the real services, each in its own
transaction as the request would run them: ``payments.create_batch`` (row locks on every invoice, the
organisations' IBAN check, the pain.001.001.03 file written with sepaxml and validated against its XSD,
stored with its SHA-256), ``payments.export_file`` (read back, hash checked) and ``payments.mark_paid``
(every invoice « pay » through the invoice machine with its audit rows, an email per organisation).
Prints each time and the file's size. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from marketplace.formatting import paris_today

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_certificates import ensure_fresh_database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=None, help="par défaut : un fichier SQLite temporaire")
    parser.add_argument("--invoices", type=int, default=5000, help="factures validées du lot (5 000)")
    parser.add_argument("--providers", type=int, default=50, help="organismes payés (50)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench_payments_"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    ensure_fresh_database(url)

    from sqlalchemy import insert, select

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Invoice, InvoiceLine, Opco, PaymentBatch, TrainingProvider, User
    from marketplace.services import payments
    from marketplace.services.reference_data import load_reference_data
    from tests.factories import Factories
    from tests.opco_invoices import IBAN_FR, with_payer_account

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
        opco = make.opco("akto")
        with_payer_account(opco)
        actor = make.user(email="comptable.opco@exemple.test")
        make.member(opco, actor, "admin")
        sessions = []
        for n in range(args.providers):
            provider = make.provider(name=f"Organisme payé {n + 1}", admin=make.user())
            provider.iban, provider.bic, provider.account_holder = IBAN_FR, "AGRIFRPPXXX", provider.name
            action = make.action(opco, title=f"Action {n + 1}")
            sessions.append(make.session(action, provider, status="delivered"))
        db.session.commit()
        rows, lines = [], []
        for i in range(args.invoices):
            session = sessions[i % len(sessions)]
            amount = 80_000 + (i % 97) * 100
            rows.append(
                {
                    "kind": "invoice",
                    "payer": "opco",
                    "status": "validated",
                    "provider_id": session.provider_id,
                    "opco_id": opco.id,
                    "session_id": session.id,
                    "number": f"F-2026-{i + 1:06d}",
                    "year": 2026,
                    "sequence": i + 1,
                    "issued_on": paris_today() - timedelta(days=20),
                    "due_on": paris_today() + timedelta(days=10),
                    "total_ht_cents": amount,
                    "vat_cents": 0,
                    "total_ttc_cents": amount,
                    "validated_cents": amount,
                    "seller_name": f"Organisme payé {i % len(sessions) + 1}",
                    "funding_flow": "subrogation",
                }
            )
        db.session.execute(insert(Invoice), rows)
        ids = list(db.session.scalars(select(Invoice.id).order_by(Invoice.id)))
        for invoice_id, row in zip(ids, rows, strict=True):
            lines.append(
                {
                    "invoice_id": invoice_id,
                    "position": 1,
                    "kind": "training",
                    "label": "Stagiaire",
                    "quantity": 1,
                    "unit": "stagiaire",
                    "unit_price_cents": row["total_ht_cents"],
                    "amount_ht_cents": row["total_ht_cents"],
                }
            )
        db.session.execute(insert(InvoiceLine), lines)
        db.session.commit()
        driver = url.split(":")[0]
        print(
            f"Préparation : {args.invoices} factures validées, {args.providers} organismes en {time.perf_counter() - t0:.1f} s ({driver})"
        )

        opco_id, actor_id = opco.id, actor.id
        opco = db.session.get(Opco, opco_id)
        t = time.perf_counter()
        batch = payments.create_batch(opco, actor, ids, None)
        db.session.commit()
        created = time.perf_counter() - t
        batch_id = batch.id
        db.session.expunge_all()

        t = time.perf_counter()
        batch = db.session.get(PaymentBatch, batch_id)
        name, data = payments.export_file(
            batch, db.session.get(User, actor_id), db.session.get(Opco, opco_id)
        )
        db.session.commit()
        exported = time.perf_counter() - t
        db.session.expunge_all()

        t = time.perf_counter()
        payments.mark_paid(
            db.session.get(PaymentBatch, batch_id),
            db.session.get(User, actor_id),
            db.session.get(Opco, opco_id),
        )
        db.session.commit()
        paid = time.perf_counter() - t
        unpaid = db.session.scalar(select(Invoice.id).where(Invoice.status != "paid"))
        assert unpaid is None
        assert db.session.scalar(select(TrainingProvider.id).where(TrainingProvider.iban.is_(None))) is None
        print(
            f"Lot de {args.invoices} factures et fichier SEPA ({len(data) / 1e6:.1f} Mo, XSD validé) : {created:.2f} s"
        )
        print(f"Téléchargement du fichier (lecture + empreinte) : {exported:.2f} s")
        print(f"Lot marqué payé ({args.invoices} factures payées, {args.providers} courriels) : {paid:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
