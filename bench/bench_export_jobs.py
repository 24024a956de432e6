"""Benchmark of the background export jobs: peak memory and duration of one job, CSV and XLSX.

    .venv/bin/python bench/bench_export_jobs.py                       # SQLite /tmp/mp_bench_exports.db
    .venv/bin/python bench/bench_export_jobs.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_exports

An empty database is filled first (``services.generate``: ``--sessions`` sessions, ``--enrolments``
enrolments), then every enrolment is given to one OPCO so that its « inscriptions » export has all the rows.
Each measure runs in a fresh subprocess: it creates the application, records one export job of that OPCO
(an ``ExportJob`` row, as ``export_jobs.start`` writes it) and runs it as a worker would (``export_jobs.run``: claim, count, rows from a
server-side cursor through ``export_writer`` into a file, progress written every 1 000 rows on its own
connection, file stored with its SHA-256). It reports the RSS before the job (the application alone), the peak
RSS during the job (``VmRSS`` sampled every 50 ms by a thread), the process's peak RSS (``getrusage``, which
includes the application's start), the job's duration, the rows and the file size. The anchor, measured in the
same run, is the same subprocess with the application and the database session but no job.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "sqlite:////tmp/mp_bench_exports.db"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _app(database_url: str, storage_dir: str):
    from marketplace import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "ENV_NAME": "test",
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "STORAGE_DIR": storage_dir,
        }
    )


def prepare(args) -> int:
    from sqlalchemy import func, inspect, select, update

    from marketplace.extensions import db
    from marketplace.models import Enrolment, Opco, TrainingSession
    from marketplace.services import generate
    from marketplace.services.reference_data import load_reference_data

    app = _app(args.database_url, args.storage_dir)
    with app.app_context():
        if not inspect(db.engine).has_table("training_sessions"):
            db.create_all()
        load_reference_data()
        db.session.commit()
        if not db.session.scalar(select(func.count(TrainingSession.id))):
            print(f"Base vide : génération de {args.sessions} sessions et {args.enrolments} inscriptions…")
            generate.generate(args.sessions, args.enrolments, seed=1, progress=lambda _m: None)
            db.session.commit()
        opco_id = db.session.scalar(select(func.min(Opco.id)))
        db.session.execute(update(Enrolment).values(opco_id=opco_id))
        db.session.commit()
        rows = db.session.scalar(select(func.count(Enrolment.id)))
        print(f"{rows} inscriptions, toutes à l'OPCO n° {opco_id}")
        return opco_id


def child(args) -> None:
    from marketplace.extensions import db
    from marketplace.models import ExportJob, Opco
    from marketplace.services import export_jobs

    app = _app(args.database_url, args.storage_dir)
    with app.app_context():
        opco = db.session.get(Opco, args.opco)
        before = current_rss_mb()
        if args.format == "none":
            print(json.dumps({"before": before, "peak": peak_rss_mb()}))
            return
        job = ExportJob(organisation_id=opco.id, kind="inscriptions", format=args.format, parameters={})
        db.session.add(job)
        db.session.commit()
        sampled = [current_rss_mb()]
        running = threading.Event()
        running.set()

        def sample() -> None:
            while running.is_set():
                sampled.append(current_rss_mb())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        assert export_jobs.run(job.id)
        seconds = time.perf_counter() - started
        running.clear()
        sampler.join()
        job = db.session.get(ExportJob, job.id, populate_existing=True)
        print(
            json.dumps(
                {
                    "before": before,
                    "peak": peak_rss_mb(),
                    "during": max(sampled),
                    "seconds": seconds,
                    "rows": job.rows_done,
                    "size_mb": (job.size_bytes or 0) / 1024 / 1024,
                }
            )
        )


def measure(args, fmt: str) -> dict:
    command = [sys.executable, __file__, "--child", "--format", fmt, "--opco", str(args.opco)]
    command += ["--database-url", args.database_url, "--storage-dir", args.storage_dir]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--storage-dir", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    parser.add_argument("--opco", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    args.storage_dir = args.storage_dir or tempfile.mkdtemp(prefix="mp_bench_exports_")
    args.opco = prepare(args)
    floor = measure(args, "none")
    print(f"Ancrage (application et session, sans export) : {floor['peak']:.1f} Mo de RSS maximale")
    print(
        f"{'format':<6} {'lignes':>8} {'durée':>8} {'lignes/s':>9} {'fichier':>9} {'RSS avant':>10} "
        f"{'RSS max pendant le job':>22} {'écart':>7} {'RSS max du processus':>21}"
    )
    for fmt in args.formats.split(","):
        r = measure(args, fmt)
        print(
            f"{fmt:<6} {r['rows']:>8} {r['seconds']:>7.1f}s {r['rows'] / r['seconds']:>9.0f} "
            f"{r['size_mb']:>7.1f}Mo {r['before']:>8.1f}Mo {r['during']:>20.1f}Mo {r['during'] - r['before']:>+5.1f}Mo "
            f"{r['peak']:>19.1f}Mo"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
