#!/usr/bin/env bash
# First README command: environment, migrations, demo data, then gunicorn on http://127.0.0.1:8000.
# Uses SQLite under instance/ unless DATABASE_URL is set. Safe to run again (every step is idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh

ensure_venv ""

export MARKETPLACE_ENV="${MARKETPLACE_ENV:-development}"
export FLASK_APP=marketplace
BIND="${BIND:-127.0.0.1:8000}"
# Links in emails follow the address served (unless BASE_URL is given): BIND=0.0.0.0:5000 gives
# http://127.0.0.1:5000, not the default port 8000. Set BASE_URL yourself behind a proxy or a public name.
if [[ -z "${BASE_URL:-}" && "$BIND" != unix:* ]]; then
  host="${BIND%:*}"
  port="${BIND##*:}"
  [[ "$BIND" != *:* ]] && host="$BIND" && port=8000
  [[ "$host" == "0.0.0.0" || "$host" == "[::]" || -z "$host" ]] && host=127.0.0.1
  BASE_URL="http://${host}:${port}"
fi
export BASE_URL="${BASE_URL:-http://127.0.0.1:8000}"

echo "==> Migration de la base de données"
.venv/bin/flask db upgrade
echo "==> Données de démonstration"
.venv/bin/flask seed-demo

echo
echo "L'application est servie sur ${BASE_URL} (Ctrl+C pour arrêter)."
echo

# The scheduler (periodic jobs: email delivery, expiring offers, closing tenders…) runs beside gunicorn and
# stops with it: whichever ends first, or Ctrl+C / SIGTERM on this script, stops both.
PIDS=()
stop_all() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT INT TERM

echo "==> Planificateur des tâches périodiques (flask scheduler)"
.venv/bin/flask scheduler &
PIDS+=($!)
# --limit-request-line 8190 (gunicorn's maximum; its default is 4094): URLs up to 8 190 bytes reach the app,
# which answers those beyond 2 000 characters with its own French page (414, marketplace/web/inputs.py)
# instead of gunicorn's bare English 400. Longer request lines are still refused by gunicorn itself.
.venv/bin/gunicorn -w "${WEB_CONCURRENCY:-2}" -b "$BIND" --limit-request-line 8190 --access-logfile - wsgi:app &
PIDS+=($!)
set +e
wait -n "${PIDS[@]}"
status=$?
stop_all
exit "$status"
