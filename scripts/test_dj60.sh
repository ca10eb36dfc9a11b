#!/usr/bin/env bash
# The Django 6.0 leg: the suite on SQLite under Python 3.12+ with Django 6.0 (which needs
# Python 3.12).  Uses the first Python 3.12/3.13 it finds (PATH, then pyenv); without one it
# says so and skips, since CI cannot download an interpreter.  Its virtualenv is .venv-dj60.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
find_python() {
  local candidate
  for candidate in "${PYTHON312:-}" "$(command -v python3.12)" "$(command -v python3.13)" \
                   /root/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.13*/bin/python3.13 \
                   "$HOME"/.pyenv/versions/3.12*/bin/python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3.13; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}
if ! PY="$(find_python)"; then
  echo "SKIPPED: the Django 6.0 leg needs Python 3.12+, and none was found (set PYTHON312)."
  exit 0
fi
export PYTHON="$PY" SCIM_PORTAL_VENV="$ROOT/.venv-dj60"
source "$ROOT/scripts/_env.sh" "test,example"
set +e
if ! python -c 'import django, sys; sys.exit(django.VERSION[:2] != (6, 0))'; then
  python -m pip install --quiet "Django>=6.0,<6.1" || exit 1
fi
python -c 'import django, sys; print(f"Python {sys.version.split()[0]}, Django {django.get_version()}")'
SCIM_PORTAL_TEST_DB=sqlite python -m pytest -q -p no:cacheprovider "$@"
