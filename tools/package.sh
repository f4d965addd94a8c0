#!/usr/bin/env bash
# Packages every publishable crate of the workspace with `cargo package`,
# verify build included (each crate is built from its .crate alone), and
# copies the .crate files into OUTDIR:
#
#   tools/package.sh [--no-verify] OUTDIR
#
# --no-verify skips the verify builds (tools/downstream.sh then compiles the
# packaged sources itself, from its local registry).
#
# Publishable = every workspace member without `publish = false` (the tests
# and examples packages are not). Cargo >= 1.90 packages members that depend
# on each other through a temporary local registry, so nothing needs to be
# on crates.io first. The working tree is packaged as it is (--allow-dirty):
# this is for local registries and CI (tools/downstream.sh), not publishing.
# The worker and the executor link libpython: tools/env.sh picks the
# interpreter (PYO3_PYTHON) as for every other build.
set -euo pipefail
verify=(); out=
for arg in "$@"; do
    case $arg in
        --no-verify) verify=(--no-verify) ;;
        -*) echo "usage: tools/package.sh [--no-verify] OUTDIR" >&2; exit 2 ;;
        *) [ -z "$out" ] || { echo "usage: tools/package.sh [--no-verify] OUTDIR" >&2; exit 2; }; out=$arg ;;
    esac
done
[ -n "$out" ] || { echo "usage: tools/package.sh [--no-verify] OUTDIR" >&2; exit 2; }
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$ROOT"

# name version, one crate per line, for members that may be published.
mapfile -t crates < <(cargo metadata --no-deps --format-version 1 --locked |
    "$PYTHON" -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for p in meta["packages"]:
    if p["id"] in members and p.get("publish") != []:
        print(p["name"], p["version"])
')
[ ${#crates[@]} -gt 0 ] || { echo "error: no publishable crates found" >&2; exit 1; }

args=()
for c in "${crates[@]}"; do args+=(-p "${c% *}"); done
t0=$SECONDS
target=$(cargo metadata --no-deps --format-version 1 |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# A verify build takes the other crates of ours from cargo's temporary
# registry (target/package/tmp-registry). Cargo treats registry crates as
# immutable: it unpacks them once under $CARGO_HOME/registry/src/-<hash>/
# (unnamed local registries start with "-") and never rebuilds them, so
# with an unchanged version a second run would verify against the first
# run's sources and artifacts. Drop both: the unpacked copies, and the
# fingerprints of every unit built from them (found through the dep-info
# files that name those sources), which makes Cargo rebuild just those.
for c in "${crates[@]}"; do
    rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"${c% *}-${c#* }"
done
if [ -d "$target/debug/.fingerprint" ]; then
    grep -l -s '/registry/src/-[^/]*/snakebridge' "$target"/debug/deps/*.d "$target"/debug/build/*/*.d |
        while read -r depinfo; do
            stem=$(basename "$depinfo" .d)
            rm -rf "$target"/debug/.fingerprint/*-"${stem##*-}"
        done || true
fi

echo "==> cargo package (${verify[*]:-with verify builds}): ${crates[*]%% *}"
cargo package --locked --allow-dirty ${verify[@]+"${verify[@]}"} "${args[@]}"
for c in "${crates[@]}"; do
    file="$target/package/${c% *}-${c#* }.crate"
    [ -f "$file" ] || { echo "error: $file was not made" >&2; exit 1; }
    cp "$file" "$out/"
    echo "    $(basename "$file") ($(du -h "$file" | cut -f1))"
done
echo "==> ${#crates[@]} crates in $out ($((SECONDS - t0)) s)"
