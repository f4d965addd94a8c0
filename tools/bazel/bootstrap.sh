#!/usr/bin/env bash
# Prepares Bazel on this machine (idempotent; a second run takes seconds), then
# optionally runs Bazel:
#
#   sudo tools/bazel/bootstrap.sh                 # prepare only
#   sudo tools/bazel/bootstrap.sh -- test //...   # prepare, then `bazel test //...`
#   sudo tools/bazel/bootstrap.sh --stop          # stop Bazel, drop the chroot's mounts
#
# Our machines run Debian bookworm and reach only Debian's archive, the crate
# registry and PyPI; there is no Bazel binary for bookworm. So this builds a
# Debian sid chroot (Debian's bazel-bootstrap 7.7.1, rules_rust 0.54.1,
# rules_python 0.22.1, rustc, python3) under $SNAKEBRIDGE_BAZEL_HOME
# (default /var/cache/snakebridge-bazel) and compiles cargo-bazel (for
# crate_universe) from the source Debian ships. tools/bazel/bazel then runs
# Bazel in that chroot with `--config=offline`. Every step, and why, is in
# docs/bazel.md. Environment:
#   SNAKEBRIDGE_BAZEL_HOME    cache directory (chroot, stamps)
#   SNAKEBRIDGE_BAZEL_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   SNAKEBRIDGE_BAZEL_JOBS    cargo -j for building cargo-bazel (default: all cores)
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/offline/lib.sh"
sbz_require_root

if [ "${1:-}" = "--stop" ]; then
    if nsenter --mount="$SBZ_NS" true 2>/dev/null && [ -x "$SBZ_ROOT/usr/bin/bazel" ]; then
        "$SBZ_OFFLINE_DIR/../bazel" shutdown || true
    fi
    sbz_ns_release
    sbz_log "stopped; nothing of the chroot is mounted on this host"
    exit 0
fi

# The chroot's packages: $SBZ_PACKAGES (offline/lib.sh; tools/bazel/bazel
# checks that the chroot has them).
PACKAGES=$SBZ_PACKAGES

t0=$SECONDS
step_t0=0
step_begin() { step_t0=$SECONDS; sbz_log "$*"; }
step_end() { sbz_log "  done in $((SECONDS - step_t0)) s"; }

# --- 0. host prerequisites -------------------------------------------------
command -v debootstrap >/dev/null || {
    step_begin "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
    step_end
}
command -v unshare >/dev/null || sbz_die "unshare (util-linux) is missing"
mkdir -p "$SBZ_HOME" "$SBZ_STAMPS"

# --- 1. the sid chroot -----------------------------------------------------
key="debootstrap minbase $SBZ_SUITE v1"
if ! sbz_stamp_ok chroot "$key"; then
    if [ -e "$SBZ_ROOT" ]; then
        # A half-finished chroot. Nothing is ever mounted there on the host
        # (sbz_chroot uses private mount namespaces), but check anyway.
        if findmnt -rn -o TARGET | grep -q "^$SBZ_ROOT"; then
            sbz_die "something is mounted under $SBZ_ROOT; unmount it first"
        fi
        sbz_ns_release
        rm -rf --one-file-system "$SBZ_ROOT"
    fi
    rm -f "$SBZ_STAMPS"/*
    step_begin "debootstrap --variant=minbase $SBZ_SUITE -> $SBZ_ROOT"
    nice -n 19 debootstrap --variant=minbase "$SBZ_SUITE" "$SBZ_ROOT" "$SBZ_MIRROR" \
        >"$SBZ_HOME/debootstrap.log" 2>&1 || {
        tail -20 "$SBZ_HOME/debootstrap.log" >&2; sbz_die "debootstrap failed (log: $SBZ_HOME/debootstrap.log)"; }
    # E1: the mirror's sid Release file may be past Valid-Until.
    echo 'Acquire::Check-Valid-Until "false";' >"$SBZ_ROOT/etc/apt/apt.conf.d/99snakebridge-novalid"
    echo 'APT::Install-Recommends "false";' >"$SBZ_ROOT/etc/apt/apt.conf.d/99snakebridge-norecommends"
    sbz_stamp_set chroot "$key"
    step_end
fi

# --- 2. packages ------------------------------------------------------------
key="$PACKAGES"
if ! sbz_stamp_ok packages "$key"; then
    step_begin "apt-get install in the chroot: $PACKAGES"
    # shellcheck disable=SC2086
    sbz_chroot -- bash -c "set -e; export DEBIAN_FRONTEND=noninteractive
        nice -n 19 apt-get update -q
        nice -n 19 apt-get install -y -q $PACKAGES
        apt-get clean" >"$SBZ_HOME/apt.log" 2>&1 || {
        tail -30 "$SBZ_HOME/apt.log" >&2; sbz_die "apt-get failed (log: $SBZ_HOME/apt.log)"; }
    sbz_stamp_set packages "$key"
    step_end
fi

# --- 3. extra CA certificates (E5) ------------------------------------------
# Only where TLS egress is intercepted by a private CA: Bazel's Java
# downloader must trust it too (ca-certificates-java updates the JKS).
shopt -s nullglob
certs=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
key="$( { [ ${#certs[@]} -gt 0 ] && cat "${certs[@]}"; } | sha256sum | cut -d' ' -f1)"
if ! sbz_stamp_ok certs "$key"; then
    step_begin "copying ${#certs[@]} extra CA certificate(s) into the chroot"
    mkdir -p "$SBZ_ROOT/usr/local/share/ca-certificates"
    [ ${#certs[@]} -gt 0 ] && cp "${certs[@]}" "$SBZ_ROOT/usr/local/share/ca-certificates/"
    sbz_chroot -- update-ca-certificates >"$SBZ_HOME/certs.log" 2>&1
    sbz_stamp_set certs "$key"
    step_end
fi

# --- 4. cargo-bazel, built from the source Debian ships (E10, E14) ----------
# Patched: cargo_toml 0.20.5 (locked by rules_rust 0.54.1) cannot parse
# `resolver = "3"` in our root Cargo.toml (E15); 0.21.0 can, and builds
# unchanged. The target dir survives a failed build, so a retry is incremental.
CARGO_TOML_VERSION=0.21.0
rules_rust_version=$(sbz_chroot -- dpkg-query -W -f='${Version}' bazel-rules-rust)
key="bazel-rules-rust $rules_rust_version; cargo_toml $CARGO_TOML_VERSION"
if ! sbz_stamp_ok cargo-bazel "$key" || [ ! -x "$SBZ_ROOT$SBZ_CARGO_BAZEL" ]; then
    jobs=${SNAKEBRIDGE_BAZEL_JOBS:-$(nproc)}
    step_begin "building cargo-bazel from bazel-rules-rust $rules_rust_version (cargo -j$jobs; several minutes)"
    sbz_chroot -- bash -c "set -e
        rm -rf /tmp/cargo-bazel-src
        cp -r /usr/share/bazel/rules/rust/crate_universe /tmp/cargo-bazel-src
        cd /tmp/cargo-bazel-src
        sed -i 's/^cargo_toml = .*/cargo_toml = \"$CARGO_TOML_VERSION\"/' Cargo.toml
        cargo update -p cargo_toml --precise $CARGO_TOML_VERSION
        export CARGO_TARGET_DIR=/tmp/cargo-bazel-target
        nice -n 19 cargo build -j$jobs --release --locked --bin cargo-bazel
        install -D \$CARGO_TARGET_DIR/release/cargo-bazel $SBZ_CARGO_BAZEL
        cd / && rm -rf /tmp/cargo-bazel-src /tmp/cargo-bazel-target /root/.cargo/registry/src" \
        >"$SBZ_HOME/cargo-bazel.log" 2>&1 || {
        tail -30 "$SBZ_HOME/cargo-bazel.log" >&2; sbz_die "cargo-bazel build failed (log: $SBZ_HOME/cargo-bazel.log)"; }
    sbz_stamp_set cargo-bazel "$key"
    step_end
fi

# --- 5. crates-index cache name (E12) ---------------------------------------
# cargo-bazel 0.15 (crates-index 3.2) looks for cargo's sparse-index cache
# under the pre-cargo-1.85 hash suffix; point the old name at the new one.
idx=$SBZ_ROOT/root/.cargo/registry/index
mkdir -p "$idx/index.crates.io-1949cf8c6b5b557f"
[ -L "$idx/index.crates.io-6f17d22bba15001f" ] ||
    ln -sfn index.crates.io-1949cf8c6b5b557f "$idx/index.crates.io-6f17d22bba15001f"

# --- 6. user bazelrc inside the chroot: always use the offline config -------
cat >"$SBZ_ROOT/root/.bazelrc" <<RC
# Written by tools/bazel/bootstrap.sh: every Bazel run in this chroot is offline.
common --config=offline
RC

sbz_log "ready in $((SECONDS - t0)) s: $SBZ_ROOT ($(du -sh --one-file-system "$SBZ_ROOT" 2>/dev/null | cut -f1))"

if [ "${1:-}" = "--" ]; then
    shift
    exec "$SBZ_OFFLINE_DIR/../bazel" "$@"
fi
