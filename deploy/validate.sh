#!/usr/bin/env bash
# Validates the Kubernetes manifests of deploy/kubernetes offline against the
# Kubernetes OpenAPI schemas, strictly (an unknown or misspelt field is an
# error), with the kubernetes-validate package from PyPI in a throwaway venv
# under target/. Each kustomization is rendered first (`kubectl kustomize`,
# or `kustomize build`); without either, the plain manifests of base/ are
# checked one by one and the overlays are skipped (a patch alone is not a
# valid object). secret.yaml, a template outside the kustomization, is
# checked on its own.
#
#   deploy/validate.sh        (tools/test.sh runs it)
#
# Validated against the oldest Kubernetes the manifests support (1.27: gRPC
# probes are GA there) and the newest the pinned package knows.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
K8S="$ROOT/deploy/kubernetes"
VALIDATE_VERSION=1.37.0
K8S_VERSIONS=(1.27.0 1.37.0)
VENV="$ROOT/target/deploy-validate/venv"
OUT="$ROOT/target/deploy-validate/rendered"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/kubernetes-validate" ] ||
    [ "$(cat "$VENV/.pinned" 2>/dev/null)" != "$VALIDATE_VERSION" ]; then
    echo "validate: installing kubernetes-validate==$VALIDATE_VERSION into $VENV"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$VALIDATE_VERSION"
    echo "$VALIDATE_VERSION" >"$VENV/.pinned"
fi

render() { # render DIR OUTFILE: true when rendered
    if command -v kubectl >/dev/null 2>&1; then
        kubectl kustomize "$1" >"$2"
    elif command -v kustomize >/dev/null 2>&1; then
        kustomize build "$1" >"$2"
    else
        return 1
    fi
}

rm -rf "$OUT"
mkdir -p "$OUT"
files=("$K8S/base/secret.yaml")
if render "$K8S" "$OUT/cpu.yaml"; then
    files+=("$OUT/cpu.yaml")
    for overlay in "$K8S"/overlays/*/; do
        name="$(basename "$overlay")"
        render "$overlay" "$OUT/$name.yaml"
        files+=("$OUT/$name.yaml")
    done
else
    echo "validate: neither kubectl nor kustomize on PATH: checking base/*.yaml one by one, not the overlays"
    for f in "$K8S"/base/*.yaml; do
        case "$(basename "$f")" in
            kustomization.yaml | secret.yaml) ;;
            *) files+=("$f") ;;
        esac
    done
fi

for version in "${K8S_VERSIONS[@]}"; do
    # --quiet: failures and warnings only; a resource kind the schemas do
    # not know is a failure too.
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "${files[@]}"
done
count=$(cat "${files[@]}" | grep -c '^kind:')
echo "validate: ${#files[@]} files, $count resources, valid for Kubernetes ${K8S_VERSIONS[*]} (strict)"
