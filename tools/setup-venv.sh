#!/usr/bin/env bash
# Creates the managed venv (.snakebridge/venv) with the pinned packages of
# python/requirements.txt. Idempotent: a second run with nothing changed
# returns at once. Uses uv (installed from PyPI into .snakebridge/tools) and
# falls back to venv + pip.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
VENV="$SNAKEBRIDGE_VENV"
REQ="$ROOT/python/requirements.txt"
STAMP="$VENV/.snakebridge-stamp"
want="$("$PYTHON" -c 'import sys; print(sys.version)' | head -1) $PYTHON $(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x "$VENV/bin/python" ]]; then
    exit 0
fi
if [[ -f "$VENV/pyvenv.cfg" ]] && ! grep -q "^home = $(dirname "$PYTHON")\$" "$VENV/pyvenv.cfg"; then
    echo "==> $VENV was made by another interpreter; recreating it for $PYTHON"
    rm -rf "$VENV"
fi
TOOLS="$ROOT/.snakebridge/tools"
echo "==> setting up $VENV ($PYTHON)"
if [[ ! -x "$TOOLS/bin/uv" ]]; then
    "$PYTHON" -m venv "$TOOLS" && "$TOOLS/bin/python" -m pip install -q --disable-pip-version-check uv==0.13.9 \
        || echo "    uv unavailable; falling back to pip"
fi
if [[ -x "$TOOLS/bin/uv" ]]; then
    [[ -x "$VENV/bin/python" ]] || "$TOOLS/bin/uv" venv -q --python "$PYTHON" "$VENV"
    "$TOOLS/bin/uv" pip install -q --python "$VENV/bin/python" -r "$REQ"
else
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
fi
echo "$want" > "$STAMP"
echo "==> venv ready: $("$VENV/bin/python" -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)')"
