#!/usr/bin/env bash
# The main job: managed venv, build, then the quickstart calling real Python.
# Works first on a fresh clone: it builds everything it runs.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/tools/setup-venv.sh"
cd "$ROOT"
echo "==> building the worker and the quickstart (the first build takes a few minutes)"
# The worker is a binary the quickstart spawns: build it explicitly (a
# `--example` filter alone would skip it).
cargo build -p snakebridge-worker --bin snakebridge-worker
cargo build -p snakebridge-examples --example quickstart
echo "==> running examples/quickstart.rs"
cargo run --quiet -p snakebridge-examples --example quickstart
