# Shared by scripts/demo.sh and scripts/test.sh: create .venv once and keep it in
# step with pyproject.toml.  Needs only a Python 3.11+ with pip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV="${SCIM_PORTAL_VENV:-$ROOT/.venv}"
EXTRAS="${1:-example}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtualenv in $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.scim-portal-$EXTRAS"
WANT="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "Installing scim-portal[$EXTRAS] into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]" >&2
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
