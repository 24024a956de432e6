"""Enrolment rush over HTTP: N companies enrol one employee each, all at once, on one session with few seats.

    .venv/bin/python bench/bench_rush.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/mp_bench_rush --clients 200 --free-seats 10

Builds a small marketplace in a throwaway database (dropped and created again on every run): one OPCO, one
action, one training organisation, ``--clients`` companies each with one HR member and one employee, the
« rush » session with ``--free-seats`` seats, and one session per company for the anchor. Starts gunicorn
(``--workers`` sync workers) on it, signs every member in, then, for each round:

- anchor: every company enrols its employee on a session of its own at the same moment (no shared row
  lock: what the server does when the enrolments do not compete);
- rush: every company enrols its employee on the rush session at the same moment.

Prints enrolments per second for both, their ratio (rush / anchor, measured in the same run), the seats held
(must be exactly the free seats), the waiting list, the errors (any answer other than the outcome page), and
how long each request held the session's row lock: time from the ``SELECT … FOR UPDATE`` on the session to
the ``COMMIT``, measured in the gunicorn workers by a SQLAlchemy connection event (``--lock-log``).
``--repeat N`` runs the whole pass N times (data copied anew, gunicorn restarted) and judges the target on the
median: on a shared 2-core machine one pass varies by ±15 %. ``--workers`` defaults to one sync worker per
core: the rush queues on one row lock, and more workers than cores only add CPU contention (see
bench/README.md). Exits with status 1 when a correctness check fails (seats, errors).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from marketplace.formatting import paris_today

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-rush-2026"
TARGET_PER_S = 150.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def app_config(database_url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "bench-rush",
        "ENV_NAME": "test",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "MAIL_SERVER": None,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or None,
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "BASE_URL": "http://localhost",
    }


# --- In the gunicorn workers -------------------------------------------------------------------------------


def server_app():
    """The application served by gunicorn (``bench_rush:server_app()``), with the lock-hold probe."""
    import gc
    import logging

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from marketplace import create_app

    app = create_app(app_config(os.environ["BENCH_DATABASE_URL"]))
    logging.getLogger().setLevel(logging.WARNING)
    log_path = os.environ.get("BENCH_LOCK_LOG")
    if log_path:
        # The session's row lock: from the return of its SELECT … FOR UPDATE (PostgreSQL) or UPDATE (SQLite) to the COMMIT
        # or ROLLBACK of the same connection, and the statements run meanwhile (the COMMIT not counted). Appended
        # by every worker, one line per transaction: "<ms> <statements>".
        lock_sql = re.compile(r"FROM training_sessions\b.*FOR UPDATE|^UPDATE training_sessions SET id", re.S)

        @event.listens_for(Engine, "before_cursor_execute")
        def _count(conn, cursor, statement, parameters, context, executemany):
            if "bench_locked_at" in conn.info:
                conn.info["bench_statements"] += 1

        @event.listens_for(Engine, "after_cursor_execute")
        def _stamp(conn, cursor, statement, parameters, context, executemany):
            # After the locking statement returned: the lock is held from here (the wait is not counted).
            if "bench_locked_at" not in conn.info and lock_sql.search(statement):
                conn.info["bench_locked_at"] = time.perf_counter()
                conn.info["bench_statements"] = 0

        def _release(conn):
            started = conn.info.pop("bench_locked_at", None)
            if started is not None:
                with open(log_path, "a") as out:
                    held = (time.perf_counter() - started) * 1000
                    out.write(f"{held:.3f} {conn.info.pop('bench_statements')}\n")

        event.listen(Engine, "commit", _release)
        event.listen(Engine, "rollback", _release)
    gc.freeze()
    return app


def in_process(url: str, data: dict, count: int) -> dict:
    """The steady figures, whatever the machine's load: ``count`` enrolment POSTs one after the other in this
    process (Flask's test client, same app, same data, a copy of the database), each on the rush session:
    CPU time of the request (``time.thread_time``: waiting for the database or the lock is not counted) and
    its SQL statements. The first five warm the caches up and are not counted."""
    import logging

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from marketplace import create_app

    app = create_app(app_config(url))
    logging.getLogger().setLevel(logging.WARNING)
    statements = [0]

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements[0] += 1

    event.listen(Engine, "before_cursor_execute", count_statement)
    cpu, counts, statuses = [], [], []
    try:
        for index, row in enumerate(data["clients"][: count + 5]):
            client = app.test_client()
            client.post("/connexion", data={"email": row["email"], "password": PASSWORD})
            statements[0] = 0
            started = time.thread_time()
            response = client.post(
                f"/entreprise/{row['slug']}/sessions/{data['rush_session']}/inscrire",
                data={"employee_ids": str(row["employee"])},
            )
            spent = (time.thread_time() - started) * 1000
            statuses.append(response.status_code)
            if index >= 5:
                cpu.append(spent)
                counts.append(statements[0])
    finally:
        event.remove(Engine, "before_cursor_execute", count_statement)
        from marketplace.extensions import db

        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
    return {"cpu": cpu, "statements": counts, "statuses": statuses}


def copy_database(url: str, suffix: str) -> str:
    """PostgreSQL: a copy of the run's database (``<name><suffix>``), made from the same template."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    import psycopg

    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"{parsed.database}{suffix}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


# --- Driver ---------------------------------------------------------------------------------------------


def prepare_database(url: str, clients: int, free_seats: int) -> dict:
    """A fresh database with the run's data. On PostgreSQL the data are built once into a template database
    (``<name>_tpl_<clients>_<seats>``) and every run starts from a copy of it (CREATE DATABASE … TEMPLATE)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        Path(parsed.database).unlink(missing_ok=True)
        return build_data(url, clients, free_seats)
    import psycopg

    server = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    template = f"{parsed.database}_tpl_{clients}_{free_seats}"
    saved = Path(tempfile.gettempdir()) / f"{template}.json"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
        if not exists or not saved.exists():
            conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{template}"')
            data = build_data(
                parsed.set(database=template).render_as_string(hide_password=False), clients, free_seats
            )
            saved.write_text(json.dumps(data))
        conn.execute(f'CREATE DATABASE "{parsed.database}" TEMPLATE "{template}"')
    return json.loads(saved.read_text())


def build_data(database_url: str, clients: int, free_seats: int) -> dict:
    """The marketplace of the run; returns what the clients need (slugs, ids, emails)."""
    from datetime import timedelta

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.services.reference_data import load_reference_data
    from tests.factories import Factories

    app = create_app(app_config(database_url))
    with app.app_context():
        db.create_all()
        load_reference_data()
        db.session.commit()
        make = Factories()
        action = make.action()
        provider = make.provider()
        rush = make.session(
            action, provider, capacity_max=free_seats, start=paris_today() + timedelta(days=30)
        )
        rows = []
        for i in range(clients):
            user = make.user(email=f"rh{i}@bench.test", password=PASSWORD)
            company = make.company(admin=user)
            employee = make.employee(company)
            own = make.session(action, provider, capacity_max=5, start=paris_today() + timedelta(days=90))
            rows.append(
                {"email": user.email, "slug": company.slug, "employee": employee.id, "own_session": own.id}
            )
        data = {"rush_session": rush.id, "clients": rows}
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return data


def request(port: int, method: str, path: str, body: dict | None = None, cookie: str = ""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Cookie": cookie} if cookie else {}
    payload = None
    if body is not None:
        payload = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    cookies = [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    return response.status, text, cookies


def raw_post(port: int, path: str, body: dict, cookie: str) -> tuple[int, str]:
    """The same POST as ``request`` written on a bare socket, and the answer read to its end (sync workers
    close the connection): the client's CPU counts in the figures, and ``http.client`` parses every header
    of the answer with the ``email`` package."""
    payload = urllib.parse.urlencode(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        conn.sendall(head + payload)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, text = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), text.decode("utf-8", "replace")


def wait_ready(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise SystemExit("gunicorn s'est arrêté au démarrage")
        try:
            status, _, _ = request(port, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn ne répond pas")


def burst(port: int, jobs: list[tuple[str, dict, str]]) -> tuple[float, list[tuple[int, str]]]:
    """Every POST at once (one thread each, released together); returns the wall time and the answers."""
    barrier = threading.Barrier(len(jobs) + 1)
    answers: list[tuple[int, str] | None] = [None] * len(jobs)

    def one(index: int, path: str, body: dict, cookie: str) -> None:
        barrier.wait()
        try:
            answers[index] = raw_post(port, path, body, cookie)
        except OSError as error:
            answers[index] = (0, str(error))

    threads = [threading.Thread(target=one, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, answers  # type: ignore[return-value]


def process_cpu(pids) -> float:
    """CPU seconds (user + system) spent so far by these processes (Linux ``/proc``; gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def server_pids(server: subprocess.Popen, database_url: str) -> dict[str, list[int]]:
    """The gunicorn workers and the PostgreSQL backends connected to the run's database (same machine)."""
    from sqlalchemy import create_engine, text

    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == server.pid:
                workers.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    backends: list[int] = []
    engine = create_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            backends = list(
                conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
                ).scalars()
            )
    engine.dispose()
    return {"workers": workers, "postgresql": backends}


def read_lock_log(path: str) -> list[tuple[float, int]]:
    try:
        with open(path) as lines:
            values = [(float(line.split()[0]), int(line.split()[1])) for line in lines if line.strip()]
    except FileNotFoundError:
        return []
    os.truncate(path, 0)
    return values


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="base jetable : supprimée et recréée")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--free-seats", type=int, default=10)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count(),
        help="workers gunicorn (sync) ; par défaut un par cœur (voir bench/README.md)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="threads par worker (> 1 : workers gthread de gunicorn)"
    )
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument(
        "--redis-url", help="REDIS_URL du serveur (courriels mis en file RQ au lieu d'être remis)"
    )
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="N",
        help="d'abord N inscriptions une à une dans ce processus (copie de la base, PostgreSQL) : "
        "temps CPU et requêtes SQL par POST",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="N passes complètes (base recopiée, serveur relancé) ; l'objectif se juge sur la médiane",
    )
    args = parser.parse_args()
    rates, failed = [], False
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"\n=== Passe {number} / {args.repeat}")
        rate, ok = run(args)
        rates.append(rate)
        failed = failed or not ok
    median = statistics.median(rates)
    if args.repeat > 1:
        shown = " ; ".join(f"{rate:.1f}" for rate in rates)
        print(f"\nRuée sur {args.repeat} passes : {shown} inscriptions/s ; médiane {median:.1f}")
    print(
        f"Objectif ≥ {TARGET_PER_S:.0f} inscriptions/s (médiane) : {'atteint' if median >= TARGET_PER_S else 'manqué'}"
    )
    return 1 if failed else 0


def run(args) -> tuple[float, bool]:
    """One full pass (fresh copy of the data, gunicorn started anew): prints its figures, returns the rush's
    enrolments per second and whether every correctness check held."""
    from sqlalchemy import create_engine, text

    print(f"Préparation : {args.clients} entreprises, session de {args.free_seats} places…")
    data = prepare_database(args.database_url, args.clients, args.free_seats)
    steady = None
    if args.in_process:
        copy = copy_database(args.database_url, "_inproc")
        steady = in_process(copy, data, min(args.in_process, args.clients - 5))
    lock_log = tempfile.mktemp(prefix="bench_rush_locks_", suffix=".txt")
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": args.database_url,
        "BENCH_LOCK_LOG": lock_log,
        "BENCH_REDIS_URL": args.redis_url or "",
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
            "--threads",
            str(args.threads),
            "--backlog",
            "2048",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "bench_rush:server_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    failures: list[str] = []
    try:
        wait_ready(args.port, server)
        cookies = {}
        for row in data["clients"]:
            status, page, got = request(
                args.port, "POST", "/connexion", {"email": row["email"], "password": PASSWORD}
            )
            if status != 303:
                raise SystemExit(f"connexion refusée pour {row['email']} ({status}) : {page[:200]}")
            cookies[row["email"]] = "; ".join(got)
        read_lock_log(lock_log)  # the sign-ins hold no session lock; start clean anyway

        def jobs(session_of) -> list[tuple[str, dict, str]]:
            return [
                (
                    f"/entreprise/{row['slug']}/sessions/{session_of(row)}/inscrire",
                    {"employee_ids": str(row["employee"])},
                    cookies[row["email"]],
                )
                for row in data["clients"]
            ]

        results = {}
        cpu: dict[str, dict[str, float]] = {}
        for name, session_of in (
            ("ancre (une session par entreprise)", lambda row: row["own_session"]),
            ("ruée (une session pour tous)", lambda row: data["rush_session"]),
        ):
            # CPU spent by the server during the round: its workers and their PostgreSQL backends (the pool's
            # connections, opened during the sign-ins), and this client; the machine's load does not change it.
            pids = server_pids(server, args.database_url)
            before = {kind: process_cpu(ids) for kind, ids in pids.items()}
            client_before = time.process_time()
            wall, answers = burst(args.port, jobs(session_of))
            client_cpu = time.process_time() - client_before
            after = server_pids(server, args.database_url)
            spent = {
                kind: process_cpu(set(ids) | set(after[kind])) - before[kind] for kind, ids in pids.items()
            }
            cpu[name] = {**spent, "client": client_cpu}
            holds = read_lock_log(lock_log)
            errors = [
                (status, body[:120])
                for status, body in answers
                if status != 200 or "inscri" not in body.lower()
            ]
            results[name] = (wall, errors, holds)

        engine = create_engine(args.database_url)
        with engine.connect() as conn:
            held = conn.execute(
                text("SELECT seats_held, capacity_max FROM training_sessions WHERE id = :id"),
                {"id": data["rush_session"]},
            ).one()
            statuses = dict(
                conn.execute(
                    text("SELECT status, count(*) FROM enrolments WHERE session_id = :id GROUP BY status"),
                    {"id": data["rush_session"]},
                ).all()
            )
            emails = dict(
                conn.execute(text("SELECT template, count(*) FROM outbox_messages GROUP BY template")).all()
            )
            anchors = conn.execute(
                text("SELECT count(*) FROM enrolments WHERE session_id <> :id AND status = 'confirmed'"),
                {"id": data["rush_session"]},
            ).scalar()
        engine.dispose()
    finally:
        server.terminate()
        server.wait(timeout=30)

    print()
    print(
        f"{args.clients} inscriptions simultanées par HTTP, gunicorn {args.workers} workers "
        f"{'sync' if args.threads == 1 else f'gthread × {args.threads} threads'}, "
        f"{create_engine(args.database_url).dialect.name}"
    )
    print(
        f"{'tour':<38} {'durée s':>8} {'inscr./s':>9} {'erreurs':>8}   verrou de la session tenu (ms) p50 / p95 / max,"
        " requêtes SQL sous le verrou"
    )
    rates = {}
    for name, (wall, errors, holds) in results.items():
        rates[name] = args.clients / wall
        times = [ms for ms, _ in holds]
        shown = (
            f"{percentile(times, 50):.2f} / {percentile(times, 95):.2f} / {max(times):.2f} ms, "
            f"{statistics.median(n for _, n in holds):.0f} requêtes"
            if holds
            else "—"
        )
        print(f"{name:<38} {wall:>8.2f} {rates[name]:>9.1f} {len(errors):>8}   {shown}")
        for status, body in errors[:3]:
            print(f"    {status}: {body!r}")
        if errors:
            failures.append(f"{len(errors)} erreur(s) ({name})")
    print()
    print("Temps CPU par inscription pendant chaque tour (indépendant de la charge de la machine) :")
    for name, spent in cpu.items():
        per = {kind: seconds * 1000 / args.clients for kind, seconds in spent.items()}
        total = sum(per.values())
        print(
            f"  {name:<38} workers {per['workers']:.1f} ms + PostgreSQL {per['postgresql']:.1f} ms + client "
            f"{per['client']:.1f} ms = {total:.1f} ms, soit au plus {os.cpu_count() * 1000 / total:.0f} "
            f"inscriptions/s sur les {os.cpu_count()} cœurs s'ils étaient libres"
        )
    anchor, rush = rates.values()
    print()
    print(f"Ratio ruée / ancre : {rush / anchor:.2f}")
    print(
        f"Places tenues sur la session de la ruée : {held.seats_held} / {held.capacity_max} ; "
        f"inscriptions : {json.dumps(statuses, ensure_ascii=False)} ; inscriptions de l'ancre : {anchors}"
    )
    seats = statuses.get("confirmed", 0) + statuses.get("pending_approval", 0)
    if held.seats_held != args.free_seats or seats != args.free_seats:
        failures.append(
            f"places tenues {held.seats_held} (inscriptions {seats}) au lieu de {args.free_seats}"
        )
    if statuses.get("waitlisted", 0) != args.clients - args.free_seats:
        failures.append("liste d'attente incomplète")
    # Every enrolment queued its company email (confirmed: the anchor's and the rush's seats; waiting list).
    print(
        "Courriels en attente d'envoi (entreprise) : "
        f"{emails.get('enrolment_confirmed', 0)} confirmations, {emails.get('enrolment_waitlisted', 0)} listes "
        f"d'attente ; organisme : {emails.get('provider_enrolments_new', 0)}"
    )
    if (emails.get("enrolment_confirmed", 0), emails.get("enrolment_waitlisted", 0)) != (
        args.clients + args.free_seats,
        args.clients - args.free_seats,
    ):
        failures.append("courriels manquants")
    if steady:
        cpu, counts = steady["cpu"], steady["statements"]
        print(
            f"Dans le processus, {len(cpu)} inscriptions une à une sur la session de la ruée : CPU par POST "
            f"p50 {percentile(cpu, 50):.1f} ms, p90 {percentile(cpu, 90):.1f} ms, min {min(cpu):.1f} ms ; "
            f"requêtes SQL par POST : {statistics.median(counts):.0f} (min {min(counts)}, max {max(counts)})"
        )
        if set(steady["statuses"]) != {200}:
            failures.append(f"réponses dans le processus : {sorted(set(steady['statuses']))}")
    if failures:
        print("ÉCHEC : " + " ; ".join(failures))
    return rush, not failures


if __name__ == "__main__":
    sys.exit(main())
