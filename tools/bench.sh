#!/usr/bin/env bash
# Runs the benchmarks (criterion) against release-built workers.
# Extra arguments go to criterion, e.g. `./tools/bench.sh sqrt`.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/tools/setup-venv.sh"
cd "$ROOT"
cargo build --release --quiet -p snakebridge-worker
cargo bench -p snakebridge --bench roundtrip -- "$@"
