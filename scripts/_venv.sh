# Shared by scripts/run.sh and scripts/test.sh (sourced, not run): a .venv with the project installed.
# ensure_venv EXTRAS  - EXTRAS is "" (runtime) or "dev"; reinstalls only when pyproject.toml changed.

ensure_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        echo "==> Création de l'environnement Python (.venv)"
        if ! "$python" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                echo "==> python3-venv manquant : installation par apt-get"
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null \
                    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
                "$python" -m venv .venv
            else
                echo "Impossible de créer .venv : installez le paquet python3-venv (sudo apt-get install python3-venv)." >&2
                return 1
            fi
        fi
    fi
    local want stamp spec
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ -n "$extras" ]; then spec=".[$extras]"; else spec="."; fi
    # A dev install also satisfies the runtime one.
    for stamp in ".venv/.installed-$extras" ".venv/.installed-dev"; do
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
            return 0
        fi
    done
    echo "==> Installation des dépendances (pip install -e '$spec')"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    echo "$want" > ".venv/.installed-$extras"
}
