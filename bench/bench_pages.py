"""Company catalogue page against its floor, under gunicorn, alternating: how much the framework costs.

    .venv/bin/python bench/bench_pages.py --database-url sqlite:////tmp/bench_pages.db \
        --sessions 100000 --enrolments 300000

Generates the marketplace when the database is empty (``services.generate``, as ``flask generate``), starts
gunicorn (``--workers`` sync workers) on an application that adds two pages for the measure, signs in a
company of the busiest OPCO, then alternates, ``--rounds`` times, ``--requests`` GETs of each page with
``--concurrency`` clients:

- « catalogue »: ``/entreprise/<slug>/catalogue``, the real page (guard, search service, ORM, templates);
- « plancher » (floor): ``/bench/plancher/<slug>``, the same SQL statements as the catalogue's search and
  choices (recorded from one in-process call of the page's services at start-up) replayed on the raw
  driver connection, and the same rows rendered with a bare template: what the page would cost with no
  ORM, no guard and a minimal template;
- « hello »: ``/bench/hello``, a bare page (the server's own floor).

Prints the requests per second of each page (median over rounds) and the ratios catalogue / floor and
catalogue / hello, measured in the same run. The target is catalogue ≥ 0.6 × floor. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EMAIL = "bench-pages@exemple.test"
PASSWORD = "bench-pages-2026"
TARGET_RATIO = 0.6


def app_config(database_url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-pages",
        "ENV_NAME": "test",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "MAIL_SERVER": None,
        "REDIS_URL": None,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }


FLOOR_TEMPLATE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Catalogue</title></head>
<body><h1>Catalogue</h1><p>{{ total }} sessions</p><table>
{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>
{% endfor %}</table></body></html>"""


# --- In the gunicorn workers -------------------------------------------------------------------------------


def server_app():
    """The application served by gunicorn (``bench_pages:server_app()``) with the floor and hello pages."""
    import gc

    from flask import render_template_string
    from sqlalchemy import event, select

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Company
    from marketplace.services import company_pages, search
    from marketplace.web.guard import public

    app = create_app(app_config(os.environ["BENCH_DATABASE_URL"]))
    recorded: dict[str, list] = {}

    def record(slug: str) -> list:
        """The statements (and parameters) the catalogue page's services run for this company."""
        if slug in recorded:
            return recorded[slug]
        from marketplace.formatting import paris_today
        from marketplace.models import utcnow

        statements = []

        def keep(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        company = db.session.scalar(select(Company).where(Company.slug == slug))
        now = utcnow()
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            search.search_sessions(company, search.SearchFilters.from_args({}), paris_today(now), now)
            company_pages.catalogue_choices()
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        db.session.remove()
        recorded[slug] = statements
        return statements

    @app.get("/bench/plancher/<slug>")
    @public
    def floor(slug: str):
        statements = record(slug)
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            total, widest = 0, []
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                rows = cursor.fetchall()
                if statement.lstrip().upper().startswith("SELECT COUNT"):
                    total = rows[0][0] if rows else 0
                elif rows and len(rows[0]) > (len(widest[0]) if widest else 0) and len(rows) <= 50:
                    widest = rows  # the page's sessions: the widest result
            connection.rollback()
        finally:
            connection.close()
        shown = [row[:12] for row in widest[:20]]
        return render_template_string(FLOOR_TEMPLATE, total=total, rows=shown)

    @app.get("/bench/hello")
    @public
    def hello():
        return "Bonjour"

    gc.freeze()
    return app


# --- Driver ---------------------------------------------------------------------------------------------


def ensure_data(database_url: str, sessions: int, enrolments: int) -> str:
    """Generate the marketplace if the database is empty; return the slug of the company to sign in."""
    from sqlalchemy import func, inspect, select
    from sqlalchemy.engine import make_url

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_catalogue import ensure_database, ensure_search_index

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Company, Membership, TrainingSession, User
    from marketplace.services import accounts, generate
    from marketplace.services.reference_data import load_reference_data

    ensure_database(database_url)
    app = create_app(app_config(database_url))
    with app.app_context():
        if not inspect(db.engine).has_table("training_sessions"):
            db.create_all()
        load_reference_data()
        db.session.commit()
        if not db.session.scalar(select(func.count(TrainingSession.id))):
            print(f"Génération : {sessions} sessions, {enrolments} inscriptions…")
            generate.generate(sessions, enrolments, seed=1, progress=lambda message: None)
            db.session.commit()
            generate.analyze()
            db.session.commit()
        ensure_search_index(db)
        busiest = db.session.scalar(
            select(TrainingSession.opco_id)
            .group_by(TrainingSession.opco_id)
            .order_by(func.count(TrainingSession.id).desc())
            .limit(1)
        )
        company = db.session.scalar(
            select(Company).where(Company.opco_id == busiest).order_by(Company.id).limit(1)
        )
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        if user is None:
            user = accounts.create_user(EMAIL, "Banc d'essai des pages", PASSWORD)
            db.session.flush()
        if not db.session.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == company.id)
        ):
            db.session.add(Membership(user_id=user.id, organisation_id=company.id, role="admin"))
        db.session.commit()
        slug = company.slug
        print(f"Base {make_url(database_url).get_backend_name()}, entreprise {slug}")
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return slug


def get(port: int, path: str, cookie: str = "") -> tuple[int, bytes, list[str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    body = response.read()
    cookies = [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    return response.status, body, cookies


def load(port: int, path: str, cookie: str, requests: int, concurrency: int) -> tuple[float, int]:
    """``requests`` GETs by ``concurrency`` clients; returns requests per second and the errors."""
    left = list(range(requests))
    lock = threading.Lock()
    errors = [0]

    def client() -> None:
        while True:
            with lock:
                if not left:
                    return
                left.pop()
            status, _, _ = get(port, path, cookie)
            if status != 200:
                with lock:
                    errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return requests / (time.perf_counter() - started), errors[0]


def cpu_in_process(database_url: str, slug: str, requests: int) -> dict[str, float]:
    """CPU time per request of the catalogue and of its floor, in this process (Flask test client, signed in,
    ``requests`` alternating GETs of each after a warm-up, median of ``time.thread_time``), and the number of
    statements of one catalogue page: steadier than requests per second on a loaded machine."""
    from sqlalchemy import event

    from marketplace.extensions import db

    os.environ["BENCH_DATABASE_URL"] = database_url
    app = server_app()
    client = app.test_client()
    response = client.post("/connexion", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 303, response.status_code
    pages = {"catalogue": f"/entreprise/{slug}/catalogue", "plancher": f"/bench/plancher/{slug}"}

    def cpu(path: str) -> float:
        started = time.thread_time()
        status = client.get(path).status_code
        assert status == 200, (path, status)
        return time.thread_time() - started

    for _ in range(5):
        for path in pages.values():
            cpu(path)
    spent: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(requests):
        for name, path in pages.items():
            spent[name].append(cpu(path))
    statements = []

    def count(*args) -> None:
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    cpu(pages["catalogue"])
    event.remove(engine, "before_cursor_execute", count)
    figures = {name: statistics.median(values) * 1000 for name, values in spent.items()}
    figures["statements"] = len(statements)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--enrolments", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=60, help="requêtes par page et par tour")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=8792)
    parser.add_argument(
        "--cpu-requests", type=int, default=15, help="requêtes par page pour le CPU en processus (0 : sans)"
    )
    args = parser.parse_args()

    slug = ensure_data(args.database_url, args.sessions, args.enrolments)
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": args.database_url,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
            "bench_pages:server_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    pages = {
        "catalogue": f"/entreprise/{slug}/catalogue",
        "plancher": f"/bench/plancher/{slug}",
        "hello": "/bench/hello",
    }
    rates: dict[str, list[float]] = {name: [] for name in pages}
    errors = 0
    try:
        for _ in range(300):
            try:
                if get(args.port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        conn.request(
            "POST",
            "/connexion",
            body=f"email={EMAIL}&password={PASSWORD}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = conn.getresponse()
        response.read()
        cookie = "; ".join(v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie")
        assert response.status == 303, response.status
        for name, path in pages.items():  # warm-up: every worker loads its templates and caches
            for _ in range(args.workers * 3):
                status, body, _ = get(args.port, path, cookie)
                assert status == 200, (name, status, body[:300])
        for _ in range(args.rounds):
            for name, path in pages.items():
                rate, failed = load(args.port, path, cookie, args.requests, args.concurrency)
                rates[name].append(rate)
                errors += failed
    finally:
        server.terminate()
        server.wait(timeout=30)

    median = {name: statistics.median(values) for name, values in rates.items()}
    print()
    print(
        f"gunicorn {args.workers} workers sync, {args.concurrency} clients, {args.rounds} tours alternés de "
        f"{args.requests} requêtes par page ; requêtes/s (médiane, min–max)"
    )
    for name, values in rates.items():
        print(f"  {name:<10} {median[name]:>7.1f}  ({min(values):.1f}–{max(values):.1f})")
    ratio = median["catalogue"] / median["plancher"]
    print(f"Ratio catalogue / plancher : {ratio:.2f} (objectif ≥ {TARGET_RATIO})")
    print(f"Ratio catalogue / hello : {median['catalogue'] / median['hello']:.2f}")
    print(f"Erreurs : {errors}")
    if args.cpu_requests:
        cpu = cpu_in_process(args.database_url, slug, args.cpu_requests)
        print(
            f"CPU par requête en processus (médiane de {args.cpu_requests}) : catalogue {cpu['catalogue']:.1f} ms "
            f"({cpu['statements']} instructions SQL), plancher {cpu['plancher']:.1f} ms ; "
            f"ratio plancher / catalogue : {cpu['plancher'] / cpu['catalogue']:.2f}"
        )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
