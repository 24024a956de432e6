#!/usr/bin/env bash
# Second README command: dev dependencies, Chromium, ruff, then the whole test suite on SQLite and,
# when TEST_DATABASE_URL is set, again on PostgreSQL. Extra arguments go to pytest (e.g. -k login -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh

ensure_venv dev

if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "==> Installation de Chromium (apt-get install -y chromium)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q chromium >/dev/null \
            || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
    else
        echo "Chromium est nécessaire aux tests navigateur : lancez « sudo apt-get install -y chromium »" \
             "puis relancez ce script." >&2
        exit 1
    fi
fi

status=0

echo "==> ruff check"
.venv/bin/ruff check . || status=1
echo "==> ruff format --check"
.venv/bin/ruff format --check . || status=1

pg_url="${TEST_DATABASE_URL:-}"

echo "==> Tests sur SQLite"
env -u TEST_DATABASE_URL .venv/bin/python -m pytest "$@" || status=1

if [ -n "$pg_url" ]; then
    echo "==> Tests sur PostgreSQL"
    TEST_DATABASE_URL="$pg_url" .venv/bin/python -m pytest "$@" || status=1
else
    echo "==> TEST_DATABASE_URL non défini : la suite n'a tourné que sur SQLite."
fi

if [ "$status" -ne 0 ]; then
    echo "==> ÉCHEC (voir ci-dessus)." >&2
else
    echo "==> Tout est passé."
fi
exit "$status"
