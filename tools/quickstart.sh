#!/usr/bin/env bash
# The main job: managed venv, build, then the quickstart calling real Python.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/tools/setup-venv.sh"
cd "$ROOT"
echo "==> building (first build takes a few minutes)"
cargo build --quiet -p snakebridge-worker -p snakebridge-examples --example quickstart
cargo run --quiet -p snakebridge-examples --example quickstart
