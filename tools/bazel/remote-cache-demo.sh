#!/usr/bin/env bash
# Remote caching against a real HTTP cache server on loopback.
#
# Bazel's HTTP remote cache protocol is plain GET and PUT of /ac/<sha256> and
# /cas/<sha256>; nginx's WebDAV module serves it (Debian package nginx or
# nginx-light). This script starts a private nginx on 127.0.0.1:$PORT (its
# own config, pid file and storage under $DIR; the system's nginx is not
# touched), then builds TARGETS twice, each time in a fresh output base and
# with the local disk cache off, so only the remote cache can help:
#   1. cold: every action runs and uploads its result (PUT);
#   2. clean again: results come back from nginx (GET) as "remote cache hit".
# It prints both times and hit counts, then stops nginx. Needs root.
#
#   tools/bazel/remote-cache-demo.sh [--jobs=N] [--keep] [TARGET...]    (default: //...)
#
# --keep leaves nginx and its storage running for more builds (otherwise the
# storage is deleted at the end; the logs stay in $DIR). The same flags
# work with any HTTP cache URL (bazel-remote, a CDN-backed bucket, ...):
#   tools/bazel/bazel build --remote_cache=http://HOST:PORT //...
# (plus --remote_upload_local_results=false on machines that must not write).
# Environment: SNAKEBRIDGE_CACHE_PORT (default 8765), SNAKEBRIDGE_CACHE_DIR
# (default $SNAKEBRIDGE_BAZEL_HOME/remote-cache-demo).
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/offline/lib.sh"
sbz_require_root
bazel=$SBZ_OFFLINE_DIR/../bazel

PORT=${SNAKEBRIDGE_CACHE_PORT:-8765}
DIR=${SNAKEBRIDGE_CACHE_DIR:-$SBZ_HOME/remote-cache-demo}
jobs=$(nproc)
keep=0
targets=()
for arg in "$@"; do
    case $arg in
        --jobs=*) jobs=${arg#--jobs=} ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) targets+=("$arg") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(//...)

command -v nginx >/dev/null || {
    sbz_log "installing nginx-light (WebDAV PUT) on the host"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx-light >/dev/null
}

# --- the cache server ---------------------------------------------------------
rm -rf "$DIR"
mkdir -p "$DIR/store" "$DIR/tmp" "$DIR/logs"
chown -R www-data: "$DIR/store" "$DIR/tmp"
cat >"$DIR/nginx.conf" <<CONF
# Private nginx for Bazel's HTTP cache (tools/bazel/remote-cache-demo.sh).
user www-data;
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log $DIR/logs/access.log;
    client_body_temp_path $DIR/tmp;
    server {
        listen 127.0.0.1:$PORT;
        root $DIR/store;
        client_max_body_size 0;          # outputs can be large
        location / {
            dav_methods PUT;             # Bazel uploads with PUT ...
            create_full_put_path on;     # ... into /ac/ and /cas/
            dav_access user:rw group:r all:r;
        }
    }
}
CONF
nginx -t -c "$DIR/nginx.conf" -p "$DIR" >/dev/null 2>&1 || { nginx -t -c "$DIR/nginx.conf" -p "$DIR"; exit 1; }
nginx -c "$DIR/nginx.conf" -p "$DIR"
stop_nginx() { [ -f "$DIR/nginx.pid" ] && kill "$(cat "$DIR/nginx.pid")" 2>/dev/null || true; }
url=http://127.0.0.1:$PORT
# Bazel runs in the chroot, which shares the host's network: loopback works.
curl -fsS -X PUT --data-binary probe "$url/cas/probe" && curl -fsS "$url/cas/probe" >/dev/null ||
    { stop_nginx; sbz_die "nginx on $url does not accept PUT/GET"; }
rm -f "$DIR/store/cas/probe"
sbz_log "HTTP cache: nginx on $url, storage $DIR/store"

# --- two clean builds -----------------------------------------------------------
flags=(--jobs="$jobs" --local_resources=cpu="$jobs" --remote_cache="$url" --disk_cache=)
base=/tmp/snakebridge-rcache-$$
cleanup() {
    for run in 1 2; do
        "$bazel" --output_base="$base-$run" shutdown >/dev/null 2>&1 || true
        if [ -e "$SBZ_ROOT$base-$run" ]; then
            chmod -R u+w "$SBZ_ROOT$base-$run" 2>/dev/null || true
            rm -rf --one-file-system "$SBZ_ROOT$base-$run"
        fi
    done
    if [ "$keep" = 0 ]; then
        stop_nginx
        rm -rf "$DIR/store" "$DIR/tmp"   # keep the logs
    fi
}
trap cleanup EXIT

for run in 1 2; do
    t0=$SECONDS
    "$bazel" --output_base="$base-$run" build "${flags[@]}" "${targets[@]}" >"$DIR/build-$run.log" 2>&1 || {
        tail -30 "$DIR/build-$run.log" >&2; sbz_die "build $run failed (log: $DIR/build-$run.log)"; }
    summary=$(grep -Eo '[0-9]+ process(es)?: .*' "$DIR/build-$run.log" | tail -1)
    elapsed=$(grep -Eo 'Elapsed time: [0-9.]+s' "$DIR/build-$run.log" | tail -1)
    sbz_log "build $run (fresh output base, no disk cache): $((SECONDS - t0)) s wall, $elapsed; $summary"
    "$bazel" --output_base="$base-$run" shutdown >/dev/null 2>&1 || true
done
gets=$(grep -c '"GET /' "$DIR/logs/access.log" || true)
puts=$(grep -c '"PUT /' "$DIR/logs/access.log" || true)
sbz_log "nginx served $gets GETs and stored $puts PUTs ($(du -sh "$DIR/store" | cut -f1))"
[ "$keep" = 0 ] || sbz_log "nginx keeps running: --remote_cache=$url (stop: kill \$(cat $DIR/nginx.pid))"
