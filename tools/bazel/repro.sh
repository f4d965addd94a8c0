#!/usr/bin/env bash
# Reproducibility check: builds the generated IR and wrapper sources twice,
# each time in a fresh Bazel output base with the introspection and render
# actions barred from every cache (so both really run twice), and compares
# the sha256 of every `*.ir.json` and `*.rs` they produce. Exit 1 on any
# difference. Needs root (runs Bazel in the chroot; see bootstrap.sh).
#
#   tools/bazel/repro.sh [--jobs=N] [--no-cache] [TARGET...]
#
# Default targets: the snakebridge_library render targets of examples/bazel.
# --no-cache also turns the disk cache off (every action, compiles included,
# runs in both builds; slower). Prints both hash lists.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/offline/lib.sh"
sbz_require_root
bazel=$SBZ_OFFLINE_DIR/../bazel

jobs=$(nproc)
cache_flags=()
targets=()
for arg in "$@"; do
    case $arg in
        --jobs=*) jobs=${arg#--jobs=} ;;
        --no-cache) cache_flags=(--disk_cache= --noremote_accept_cached) ;;
        -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
        *) targets+=("$arg") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(//examples/bazel:numpy_wrappers_rs //examples/bazel:stdlib_wrappers_rs)

flags=(
    --jobs="$jobs" --local_resources=cpu="$jobs"
    --modify_execution_info=SnakeBridgeIntrospect=+no-cache,SnakeBridgeRender=+no-cache
    "${cache_flags[@]}"
)
# Output bases inside the chroot, one per run, removed afterwards.
base=/tmp/snakebridge-repro-$$
cleanup() {
    for run in a b; do
        "$bazel" --output_base="$base-$run" shutdown >/dev/null 2>&1 || true
        if [ -e "$SBZ_ROOT$base-$run" ]; then
            chmod -R u+w "$SBZ_ROOT$base-$run" 2>/dev/null || true
            rm -rf --one-file-system "$SBZ_ROOT$base-$run"
        fi
    done
}
trap cleanup EXIT

declare -A sums
for run in a b; do
    t0=$SECONDS
    "$bazel" --output_base="$base-$run" build "${flags[@]}" "${targets[@]}" 2>"$SBZ_HOME/repro-$run.log" || {
        tail -30 "$SBZ_HOME/repro-$run.log" >&2; sbz_die "build $run failed (log: $SBZ_HOME/repro-$run.log)"; }
    bin=$("$bazel" --output_base="$base-$run" info "${flags[@]}" bazel-bin 2>/dev/null)
    # Hash every generated IR and Rust file under the targets' packages.
    list=$(cd "$SBZ_ROOT$bin" && find . \( -name '*.ir.json' -o -name '*.rs' \) -path '*_rs/*' -o \
        \( -name '*.ir.json' -path '*_ir/*' \) | LC_ALL=C sort | xargs -r sha256sum)
    [ -n "$list" ] || sbz_die "build $run produced no *.ir.json / *.rs files"
    sums[$run]=$list
    actions=$(grep -Eo '[0-9]+ process(es)?: .*' "$SBZ_HOME/repro-$run.log" | tail -1 || true)
    sbz_log "build $run: $((SECONDS - t0)) s (${actions:-? processes}), $(wc -l <<<"$list") files"
    "$bazel" --output_base="$base-$run" shutdown >/dev/null 2>&1 || true
done

echo "build a:"; echo "${sums[a]}"
if [ "${sums[a]}" = "${sums[b]}" ]; then
    sbz_log "reproducible: both clean builds produced byte-identical IR and wrapper sources"
else
    echo "build b:"; echo "${sums[b]}"
    diff <(echo "${sums[a]}") <(echo "${sums[b]}") >&2 || true
    sbz_die "NOT reproducible: the hashes above differ"
fi
