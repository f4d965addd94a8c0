#!/usr/bin/env bash
# Creates the managed venv (.snakebridge/venv) from snakebridge.toml with
# `snakebridge setup` (uv from PyPI into .snakebridge/tools, else venv + pip)
# and writes snakebridge.lock. A second run with nothing changed takes well
# under a second.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
echo "==> building the snakebridge CLI (the first build takes a few minutes)"
cargo build -p snakebridge-cli
SNAKEBRIDGE_PYTHON="$PYTHON" "$ROOT/target/debug/snakebridge" setup --config "$ROOT/snakebridge.toml"
