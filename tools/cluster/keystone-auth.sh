#!/usr/bin/env bash
# The upstream TokenReview webhook, k8s-keystone-auth (kubernetes/cloud-provider-openstack,
# cmd/k8s-keystone-auth), built from the Go module proxy at K8S_KEYSTONE_AUTH_VERSION
# (tools/versions.env), cached outside the checkout (issue 27: the anchor our webhook is compared
# with, and what tests/e2e/test_upstream_keystone_auth.py runs a Keystone-mode deployment through).
#
#   tools/cluster/keystone-auth.sh build   build once (cached); waits for a build already running
#   tools/cluster/keystone-auth.sh bin     print the binary's path (built or not)
#
# `go install k8s.io/cloud-provider-openstack/cmd/k8s-keystone-auth@VERSION` does not work here:
# the module's go.mod has replace directives (which `go install pkg@version` refuses) and the proxy
# answers 403 to the module's version list. So, as tools/local-cluster does for Kubernetes: a
# throw-away wrapper module that requires the release and repeats its replace directives, then
# `go build`. One build at a time (flock, like tools/local-heat's install lock): CI starts it in
# the background (.ci/run) and the test's `build` waits for it instead of building beside it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/versions.env
. "$here/../versions.env"

CACHE=${HEAT_K8S_HOOK_CACHE:-$HOME/.cache/heat-k8s-hook}
KA_DIR=$CACHE/k8s-keystone-auth-$K8S_KEYSTONE_AUTH_VERSION
KA_BIN=$KA_DIR/bin/k8s-keystone-auth
MODULE=k8s.io/cloud-provider-openstack
TOOL=keystone-auth T0=$(date +%s)
# shellcheck source=tools/lib.sh
. "$here/../lib.sh"

wrapper_module() { # the module to build in: requires the release, with its replace directives
    local dir=$KA_DIR/src gomod
    [ -f "$dir/go.mod" ] && { echo "$dir"; return; }
    mkdir -p "$dir"
    gomod=$(cd "$dir" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$K8S_KEYSTONE_AUTH_VERSION" \
        | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$gomod" ] || die "cannot download $MODULE@$K8S_KEYSTONE_AUTH_VERSION from the Go proxy"
    {
        echo "module heat-k8s-hook.local/keystoneauthbuild"
        echo
        echo "go $(sed -n 's/^go //p' "$gomod")"
        echo
        echo "require $MODULE $K8S_KEYSTONE_AUTH_VERSION"
        echo
        # its replace block: `k8s.io/x => k8s.io/x vY` lines (a dependency's replaces are ignored)
        sed -n '/^replace (/,/^)/p' "$gomod"
        sed -n 's/^replace \([^(].*=>.*\)$/replace \1/p' "$gomod"
    } > "$dir/go.mod.tmp"
    mv "$dir/go.mod.tmp" "$dir/go.mod"
    echo "$dir"
}

build() {
    [ -x "$KA_BIN" ] && return 0
    command -v go >/dev/null || die "go is not installed (needed once to build k8s-keystone-auth)"
    mkdir -p "$KA_DIR/bin"
    exec 8>"$KA_DIR/build.lock"
    if ! flock -n 8; then
        log "another build of k8s-keystone-auth is running; waiting for it ..."
        flock -w 1800 8 || die "the other build did not finish within 30 minutes"
    fi
    if [ -x "$KA_BIN" ]; then exec 8>&-; return 0; fi
    local dir
    log "building k8s-keystone-auth $K8S_KEYSTONE_AUTH_VERSION into $KA_BIN (cold: about 6 minutes on 2 cores)"
    dir=$(wrapper_module)
    (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 go build -trimpath \
        -ldflags "-s -w -X $MODULE/pkg/version.Version=$K8S_KEYSTONE_AUTH_VERSION" \
        -o "$KA_BIN.tmp" "$MODULE/cmd/k8s-keystone-auth") ||
        die "building k8s-keystone-auth failed (see the go output above)"
    mv "$KA_BIN.tmp" "$KA_BIN"
    log "built k8s-keystone-auth in $(($(date +%s) - T0))s ($(du -h "$KA_BIN" | cut -f1))"
    exec 8>&-
}

case "${1:-}" in
    build) build; echo "$KA_BIN" ;;
    bin) echo "$KA_BIN" ;;
    *) echo "usage: $0 build|bin" >&2; exit 2 ;;
esac
