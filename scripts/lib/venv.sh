# Shared by scripts/test and scripts/demo: create .venv with Python 3.11+ and
# install this package (editable) with the named extras.

step() { printf '\n==> %s\n' "$*" >&2; }

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3 python; do
        [[ -n $candidate ]] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local extras="$1" python
    if [[ ! -x .venv/bin/python ]]; then
        python="$(find_python)"
        step "creating .venv with $("$python" --version)"
        "$python" -m venv .venv
    fi
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp=".venv/.installed-$extras" want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
        step "installing watchcache[$extras] into .venv"
        .venv/bin/python -m pip install --disable-pip-version-check -q --upgrade pip
        .venv/bin/python -m pip install --disable-pip-version-check -q -e ".[$extras]"
        echo "$want" >"$stamp"
    fi
}
