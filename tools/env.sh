# Sourced by the tools/ scripts: picks the Python interpreter and exports
# PYO3_PYTHON, so that the worker links the same libpython the venv uses.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY_CANDIDATE="${SNAKEBRIDGE_PYTHON:-python3}"
if ! command -v "$PY_CANDIDATE" >/dev/null 2>&1; then
    echo "error: no Python interpreter '$PY_CANDIDATE' on PATH; install Python 3.10+ or set SNAKEBRIDGE_PYTHON" >&2
    exit 1
fi
# Resolve shims (pyenv) to the real interpreter.
PYTHON="$("$PY_CANDIDATE" -c 'import sys; print(sys.executable)')"
"$PYTHON" - <<'PYEOF' || exit 1
import sys, sysconfig
if sys.version_info < (3, 10):
    sys.exit(f"error: Python {sys.version.split()[0]} is too old; SnakeBridge needs 3.10+ (set SNAKEBRIDGE_PYTHON)")
if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit(f"error: {sys.executable} has no shared libpython, which embedding needs; use a build with --enable-shared (set SNAKEBRIDGE_PYTHON)")
PYEOF
export PYO3_PYTHON="$PYTHON"
export SNAKEBRIDGE_VENV="${SNAKEBRIDGE_VENV:-$ROOT/.snakebridge/venv}"
