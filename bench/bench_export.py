"""Benchmark of the streamed exports: peak memory and time to first byte, CSV and XLSX, 10 000 to 1 000 000 rows.

    .venv/bin/python bench/bench_export.py --database-url sqlite:////tmp/bench.db
    .venv/bin/python bench/bench_export.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench

Needs a database with at least as many enrolments as the largest size (``flask generate`` or
bench_catalogue.py make one). Each measure runs in a fresh subprocess, which creates the application, adds one
route that answers the trainees' export (``exports.SessionTraineesExport``, the same columns, row formatting
and writer) over the first N enrolments of the whole database instead of one session's, and reads it through
the Flask test client without buffering (``web.actions.download``: ``stream_with_context``, rows read from a
server-side cursor). The subprocess reports its peak RSS (``getrusage``), its RSS before the request, the time
to the first chunk (the header, sent before the query runs), to the first chunk holding rows (the query has
answered and the first batch is written; for XLSX, once the compressor has output), to the last, and the
size of the file. The anchor, measured in the same run, is the
former way (ORM objects loaded in one list, the whole file built in memory, openpyxl's normal workbook with
``sheet.append``) at small sizes only: it grows by about 10 KB per row and its XLSX is quadratic.

Targets (issue 13): 1 000 000 rows in ≤ 150 MB peak RSS and a first byte in < 1 s, both formats.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RSS_MB = 150.0
TARGET_TTFB_S = 1.0
SIZES = (10_000, 100_000, 1_000_000)
LEGACY_SIZES = {"csv": 10_000, "xlsx": 2_000}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(args) -> None:
    """One measure, in this fresh process; prints one JSON line."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Enrolment
    from marketplace.services import exports
    from marketplace.web.actions import download

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

    class FirstEnrolments(exports.SessionTraineesExport):
        """The trainees' export over the first ``rows`` enrolments of the database (any session)."""

        def __init__(self, rows: int):
            self.limit = rows
            self.title, self.filename_stem, self.trainees = "Stagiaires", "banc", None

        def source(self):
            query = exports.trainee_columns().order_by(Enrolment.id).limit(self.limit)
            return db.session.execute(query.execution_options(yield_per=exports.STREAM_ROWS))

    def streamed(extension: str):
        return download(FirstEnrolments(args.rows), extension)

    app.add_url_rule("/banc.<extension>", "banc", streamed)

    with app.app_context():  # warm up: connection, mappers (not measured)
        db.session.execute(select(Enrolment.id).limit(1)).all()
        db.session.remove()

    before = current_rss_mb()
    started = time.perf_counter()
    first = rows_at = None
    size = 0
    if args.legacy:
        with app.app_context():
            enrolments = (
                db.session.scalars(
                    select(Enrolment)
                    .options(joinedload(Enrolment.company), joinedload(Enrolment.employee))
                    .order_by(Enrolment.id)
                    .limit(args.rows)
                )
                .unique()
                .all()
            )
            export = FirstEnrolments(args.rows)
            rows = [
                (
                    e.employee.last_name,
                    e.employee.first_name,
                    e.employee.email,
                    e.employee.job_title,
                    e.employee.erased_at,
                    e.company.name,
                    e.company.siret,
                    e.status,
                    e.created_at,
                )
                for e in enrolments
            ]
            export.source = lambda: rows
            body = legacy_csv(export) if args.format == "csv" else legacy_xlsx(export)
            first = rows_at = time.perf_counter() - started
            size = len(body)
    else:
        client = app.test_client()
        response = client.get(f"/banc.{args.format}", buffered=False)
        assert response.status_code == 200, response.status_code
        for chunk in response.response:
            if first is None:
                first = time.perf_counter() - started
            elif rows_at is None:  # the first chunk holding rows (the first one is the header)
                rows_at = time.perf_counter() - started
            size += len(chunk)
        response.close()
    total = time.perf_counter() - started
    print(
        json.dumps(
            {
                "ttfb": first,
                "rows": rows_at,
                "total": total,
                "bytes": size,
                "peak": peak_rss_mb(),
                "before": before,
            },
        )
    )


def legacy_csv(export) -> bytes:
    """The former CSV: every line in one StringIO, encoded at the end."""
    import csv

    from marketplace.services.export_writer import csv_value

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(export.columns)
    for row in export.rows():
        writer.writerow([csv_value(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def legacy_xlsx(export) -> bytes:
    """The former XLSX: openpyxl's normal workbook, ``sheet[sheet.max_row]`` after each append."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(export.columns))
    for row in export.rows():
        sheet.append(list(row))
        for _cell in sheet[sheet.max_row]:
            pass
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def measure(database_url: str, fmt: str, rows: int, legacy: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", "--database-url", database_url, "--format", fmt]
    command += ["--rows", str(rows)] + (["--legacy"] if legacy else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="nombres de lignes")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--no-legacy", action="store_true", help="sans l'ancrage (ancienne méthode)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--legacy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    dialect = args.database_url.split(":")[0].split("+")[0]
    print(
        f"Base {dialect} ; cibles : pic RSS ≤ {TARGET_RSS_MB:.0f} Mo, premier octet < {TARGET_TTFB_S:.0f} s"
    )
    print(
        f"{'format':<6} {'méthode':<22} {'lignes':>9} {'1er octet s':>11} {'1res lignes s':>13} {'total s':>8} {'Mo':>8} "
        f"{'RSS avant':>9} {'pic RSS':>8} {'pic−avant':>9}"
    )
    missed = []
    for fmt in formats:
        runs = [] if args.no_legacy else [("ancienne (en mémoire)", LEGACY_SIZES[fmt], True)]
        runs += [("flux (export_writer)", n, False) for n in sizes]
        for label, n, legacy in runs:
            r = measure(args.database_url, fmt, n, legacy)
            print(
                f"{fmt:<6} {label:<22} {n:>9,} {r['ttfb']:>11.2f} {r['rows'] or 0:>13.2f} {r['total']:>8.1f} {r['bytes'] / 1e6:>8.1f} "
                f"{r['before']:>9.0f} {r['peak']:>8.0f} {r['peak'] - r['before']:>9.0f}".replace(",", " "),
                flush=True,
            )
            if not legacy and (r["peak"] > TARGET_RSS_MB or r["ttfb"] >= TARGET_TTFB_S):
                missed.append(f"{fmt} {n}")
    print()
    if missed:
        print("Cible manquée pour : " + ", ".join(missed))
        return 1
    print(
        f"Cibles atteintes : pic RSS ≤ {TARGET_RSS_MB:.0f} Mo et premier octet < {TARGET_TTFB_S:.0f} s partout."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
