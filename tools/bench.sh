#!/usr/bin/env bash
# Runs the benchmarks (criterion) against release-built workers.
#
#   tools/bench.sh                       every benchmark
#   tools/bench.sh --bench in_process    one bench target (roundtrip, policy, in_process, remote)
#   tools/bench.sh --bench roundtrip sqrt   ... and criterion's filter
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/tools/setup-venv.sh"
cd "$ROOT"
cargo build --release --quiet -p snakebridge-worker -p snakebridge-cli
cargo bench -p snakebridge --features in-process "$@"
