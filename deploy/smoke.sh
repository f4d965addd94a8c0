#!/usr/bin/env bash
# Smoke test of the worker image, by hand (not in CI; docs/deploy.md): builds
# deploy/Dockerfile with Debian's podman from a Debian base made here
# (debootstrap + `podman import`: no container registry, only the Debian
# archive, crates.io and PyPI are needed), starts two worker containers with
# certificates from `snakebridge certs` and a fresh token, and calls each
# from this machine over TLS:
#   snakebridge call --endpoint https://127.0.0.1:PORT --tls-ca ca.pem --token-file token math sqrt 16
# must print 4.0; a wrong token must be refused and the worker stay up.
#
#   sudo apt-get install podman debootstrap runc    # once
#   deploy/smoke.sh            # as root (debootstrap, podman's root storage)
#   deploy/smoke.sh --clean    # afterwards: remove containers, images, work dir
#
# The builder stage gets Rust from this machine's toolchain (`rustc --print
# sysroot`, mounted read-only at /usr/local/rust), so the base needs no Rust.
# Environment:
#   SMOKE_DIR      work directory (default /var/tmp/snakebridge-smoke): the
#                  Debian root filesystem, certificates, token (~300 MB)
#   SMOKE_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   SMOKE_PORT     first host port (default 17000; the second worker gets +1)
#   SMOKE_CA_BUNDLE  CA bundle for crates.io and PyPI inside the build
#                  (default $SSL_CERT_FILE or Debian's bundle)
#   SMOKE_RUNTIME  OCI runtime for podman (default: runc when installed, for
#                  hosts with cgroups v1 + v2 "hybrid" mounts crun refuses)
#   SNAKEBRIDGE    the host's snakebridge CLI (default: `cargo build -p
#                  snakebridge-cli`, then target/debug/snakebridge)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${SMOKE_DIR:-/var/tmp/snakebridge-smoke}"
MIRROR="${SMOKE_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
BASE=localhost/snakebridge-smoke-base:$SUITE
IMAGE=localhost/snakebridge-worker:smoke
PORT="${SMOKE_PORT:-17000}"
NAMES=(snakebridge-smoke-0 snakebridge-smoke-1)
SNAKEBRIDGE_SET="${SNAKEBRIDGE:-}"
SNAKEBRIDGE="${SNAKEBRIDGE:-$ROOT/target/debug/snakebridge}"
t0=$SECONDS
say() { echo "==> [$((SECONDS - t0)) s] $*"; }

# podman flags: runc where crun cannot run (cgroups v1+v2 hybrid hosts),
# and resource limits no higher than this shell's, so that a host without
# CAP_SYS_RESOURCE (a VM sandbox) can still start containers.
podman_flags=()
runtime="${SMOKE_RUNTIME:-}"
if [ -z "$runtime" ] && command -v runc >/dev/null 2>&1; then runtime=runc; fi
if [ -n "$runtime" ]; then podman_flags+=(--runtime "$runtime"); fi
podman_flags+=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)")
# (4096 processes: a VM sandbox refused 65536 even under a hard limit of 96362.)
nproc=$(ulimit -Hu); if [ "$nproc" = unlimited ]; then nproc=4096; fi
nproc=$((nproc < 4096 ? nproc : 4096))
podman_flags+=(--ulimit "nproc=$nproc:$nproc")
pod() { # podman with the global --runtime before the subcommand
    local sub=$1; shift
    if [ -n "$runtime" ]; then podman --runtime "$runtime" "$sub" "$@"; else podman "$sub" "$@"; fi
}

stop_workers() {
    for name in "${NAMES[@]}"; do pod rm -f "$name" >/dev/null 2>&1 || true; done
}

if [ "${1:-}" = "--clean" ]; then
    stop_workers
    pod rmi -f "$IMAGE" "$BASE" >/dev/null 2>&1 || true
    # The build's intermediate (dangling) images and its cache mounts
    # (deploy/Dockerfile's ids: the cargo registry and target, ~1 GB).
    pod image prune -f >/dev/null 2>&1 || true
    rm -rf /var/tmp/buildah-cache*/snakebridge-cargo-registry /var/tmp/buildah-cache*/snakebridge-cargo-target
    rm -rf "$WORK"
    say "removed the containers, $IMAGE, $BASE and $WORK"
    exit 0
fi

for tool in podman debootstrap; do
    command -v "$tool" >/dev/null || { echo "smoke: needs $tool (apt-get install podman debootstrap runc)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "smoke: run as root (debootstrap, podman root storage)" >&2; exit 1; }
mkdir -p "$WORK"

# 1. A Debian base image without a registry.
if ! pod image exists "$BASE"; then
    say "debootstrap $SUITE from $MIRROR into $WORK/rootfs"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
    say "podman import -> $BASE"
    tar -C "$WORK/rootfs" -c . | podman import \
        --change 'ENV PATH=/usr/local/rust/bin:/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV CARGO_HOME=/usr/local/cargo' \
        - "$BASE" >/dev/null
    rm -rf "$WORK/rootfs"
fi

# 2. The image (builder and runtime stages both from the local base).
sysroot="$(rustc --print sysroot)"
# This machine's CA bundle, for crates.io and PyPI through a TLS-inspecting
# proxy (a no-op elsewhere: the same public CAs as the image's).
ca_bundle="${SMOKE_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
ca_flags=()
if [ -f "$ca_bundle" ]; then
    ca_flags=(--volume "$ca_bundle:/run/smoke-ca-bundle.crt:ro" --build-arg CA_BUNDLE=/run/smoke-ca-bundle.crt)
fi
say "podman build $IMAGE (Rust from $sysroot; the first build compiles the workspace in release: minutes)"
podman build "${podman_flags[@]}" \
    --volume "$sysroot:/usr/local/rust:ro" "${ca_flags[@]}" \
    --build-arg BUILDER_IMAGE="$BASE" \
    --build-arg RUNTIME_IMAGE="$BASE" \
    --build-arg CONFIG_DIR=deploy/smoke \
    -f "$ROOT/deploy/Dockerfile" -t "$IMAGE" "$ROOT"

# 3. The image alone: its CLI runs math.sqrt through its worker and venv, as
# the pod would run it (uid 10001, read-only root filesystem).
say "in the image: snakebridge call math sqrt 16 (local worker, Unix socket)"
out=$(pod run --rm "${podman_flags[@]}" --read-only --tmpfs /tmp --cap-drop ALL \
    --security-opt no-new-privileges --entrypoint /usr/local/bin/snakebridge "$IMAGE" \
    call --venv /app/.snakebridge/venv math sqrt 16)
echo "$out"
[ "$out" = "4.0" ] || { echo "smoke: expected 4.0 from the image's CLI" >&2; exit 1; }

# 4. Certificates and a token; copies the container user (10001) can read.
if [ -z "${SNAKEBRIDGE_SET:-}" ]; then
    say "cargo build -p snakebridge-cli (the host's CLI)"
    (source "$ROOT/tools/env.sh" && cd "$ROOT" && cargo build --quiet -p snakebridge-cli)
fi
say "snakebridge certs + token in $WORK"
rm -rf "$WORK/certs" "$WORK/tls" "$WORK/token"
"$SNAKEBRIDGE" certs --out "$WORK/certs" --host localhost --host 127.0.0.1
mkdir -p "$WORK/tls" "$WORK/token"
cp "$WORK/certs/server.pem" "$WORK/certs/server.key" "$WORK/tls/"
head -c 32 /dev/urandom | base64 | tr -d '\n' >"$WORK/token/token"
chown -R 10001:10001 "$WORK/tls" "$WORK/token"
chmod 0400 "$WORK/tls/server.key" "$WORK/token/token"
echo "not-the-token" >"$WORK/wrong-token"

# 5. Two workers. The image's ENTRYPOINT passes --health-listen (the
# plaintext health port of the Kubernetes probes); a worker without that
# flag yet runs with the same entry point minus it.
entry=()
if ! pod run --rm "${podman_flags[@]}" --entrypoint /usr/local/bin/snakebridge-worker "$IMAGE" --help |
    grep -q -- --health-listen; then
    say "this snakebridge-worker has no --health-listen yet: starting it without (the Kubernetes probes need it)"
    entry=(--entrypoint '["/usr/bin/tini", "--", "/usr/local/bin/snakebridge-worker", "--listen", "0.0.0.0:7000", "--tls-cert", "/etc/snakebridge/tls/server.pem", "--tls-key", "/etc/snakebridge/tls/server.key", "--token-file", "/etc/snakebridge/token/token", "--venv-python", "/app/.snakebridge/venv/bin/python"]')
fi
trap stop_workers EXIT
stop_workers
for i in 0 1; do
    say "podman run ${NAMES[$i]} on 127.0.0.1:$((PORT + i))"
    pod run -d --name "${NAMES[$i]}" "${podman_flags[@]}" "${entry[@]}" \
        --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
        -v "$WORK/tls:/etc/snakebridge/tls:ro" -v "$WORK/token:/etc/snakebridge/token:ro" \
        -p "127.0.0.1:$((PORT + i)):7000" "$IMAGE" --threads 2 >/dev/null
done

# 6. Calls from this machine over TLS.
call() { # call PORT TOKENFILE
    "$SNAKEBRIDGE" call --endpoint "https://127.0.0.1:$1" --tls-ca "$WORK/certs/ca.pem" \
        --token-file "$2" --timeout 10s math sqrt 16
}
for i in 0 1; do
    port=$((PORT + i))
    say "snakebridge call --endpoint https://127.0.0.1:$port ... math sqrt 16"
    out=""
    for _ in $(seq 60); do
        if ! pod container exists "${NAMES[$i]}" ||
            [ "$(pod inspect -f '{{.State.Running}}' "${NAMES[$i]}")" != true ]; then
            echo "smoke: ${NAMES[$i]} is not running; its log:" >&2
            pod logs "${NAMES[$i]}" >&2 || true
            exit 1
        fi
        if out=$(call "$port" "$WORK/token/token" 2>"$WORK/call.err"); then break; fi
        sleep 1
    done
    echo "$out"
    [ "$out" = "4.0" ] || { echo "smoke: expected 4.0; last error:" >&2; cat "$WORK/call.err" >&2; exit 1; }
    say "a wrong token is refused"
    if call "$port" "$WORK/wrong-token" 2>"$WORK/call.err"; then
        echo "smoke: a wrong token was accepted" >&2; exit 1
    fi
    grep -qi unauthenticated "$WORK/call.err" ||
        { echo "smoke: expected an Unauthenticated error:" >&2; cat "$WORK/call.err" >&2; exit 1; }
    [ "$(call "$port" "$WORK/token/token")" = "4.0" ] || { echo "smoke: worker down after a wrong token" >&2; exit 1; }
    if pod logs "${NAMES[$i]}" 2>&1 | grep -qF "$(cat "$WORK/token/token")"; then
        echo "smoke: the token appears in the worker's log" >&2; exit 1
    fi
done
say "smoke test passed: two workers in containers answered over TLS (deploy/smoke.sh --clean removes everything)"
