# shellcheck shell=bash disable=SC2154   # $here and the rest come from tools/local-cluster
# Issue 28: one real worker node, `real-node-0`, beside the KWOK nodes: a real kubelet with
# containerd 2.x, runc and the CNI bridge, joined to tools/local-cluster's control plane.
# Sourced by tools/local-cluster (needs its $CACHE, $STATE, $BIN, $CLUSTER_DIR, tools/lib.sh,
# kubectl, kube_module, kube_vflags). See docs/local-cluster.md, "The real node".
#
# One real node per machine (host paths, cgroups, sysctls, one bridge): the owner is recorded in
# $RN_OWNER; a second cluster's `up --real-node` fails while the first one's runs.

RN_NAME=real-node-0
RN_CACHE=$CACHE/real-node
RN_STATE=$STATE/real-node/$CLUSTER
RN_OWNER=/run/heat-k8s-hook-real-node.owner
RN_CONTAINERD_BIN=$RN_CACHE/containerd-$CONTAINERD_VERSION/bin
RN_RUNC_BIN=$RN_CACHE/runc-$RUNC_VERSION/bin
RN_CNI_BIN=$RN_CACHE/cni-plugins-$CNI_PLUGINS_VERSION/bin
RN_IMAGES=$RN_CACHE/images
RN_BUSYBOX_VERSION=${BUSYBOX_STATIC_DEB_VERSION#*:}
RN_BUSYBOX_VERSION=${RN_BUSYBOX_VERSION%%+*}
# The image names the tests and the demo use; the docker-compose backend's is the same name.
RN_BUSYBOX_IMAGE=local/busybox:$RN_BUSYBOX_VERSION
RN_PAUSE_IMAGE=registry.k8s.io/pause:$PAUSE_VERSION
# (containerd names images in full: docker.io/local/busybox:..., which CRI matches for local/busybox:...)
RN_SOCK=$RN_STATE/containerd/containerd.sock
RN_BRIDGE=hkhbr0
RN_SUBNET=10.244.200.0/24
RN_GATEWAY=10.244.200.1
RN_CGROUP=hkh-real-node
RN_KUBELET_PORT=${HEAT_K8S_HOOK_KUBELET_PORT:-10350}
RN_KUBELET_HEALTHZ_PORT=${HEAT_K8S_HOOK_KUBELET_HEALTHZ_PORT:-10358}
# Any registry: a closed local port, so a pull fails at once with the runtime's own error.
RN_REGISTRY=http://127.0.0.1:1
RN_TAINT=heat-k8s-hook/real-node
# The sysctls the kubelet sets at start (pkg/kubelet/cm setupKernelTunables) and the bridge
# plugin's ip_forward: saved by `up` (once), restored by `down`.
RN_SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward"

rn_go_install() { # rn_go_install GOBIN CGO TAGS LDFLAGS PKG@VER...
    local gobin=$1 cgo=$2 tags=$3 ldflags=$4 t
    shift 4
    t=$(date +%s)
    log "building $* ..."
    GOBIN=$gobin CGO_ENABLED=$cgo nice -n 10 go install -trimpath -tags "$tags" \
        -ldflags "-s -w $ldflags" "$@" || die "building $* failed (see the go output above)"
    log "built $(basename "${1%@*}") and the rest in $(($(date +%s) - t))s"
}

rn_apt() { # install Debian packages the build needs, if missing
    local missing=() p
    for p in "$@"; do dpkg-query -W -f='${Status}' "${p%%=*}" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
    [ ${#missing[@]} = 0 ] && return 0
    log "installing ${missing[*]} (apt-get) ..."
    apt-cache show "${missing[0]%%=*}" >/dev/null 2>&1 || apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
}

rn_built() {
    local f
    for f in "$BIN/kubelet" "$RN_CONTAINERD_BIN/containerd" "$RN_CONTAINERD_BIN/containerd-shim-runc-v2" \
             "$RN_CONTAINERD_BIN/ctr" "$RN_RUNC_BIN/runc" "$RN_CNI_BIN/bridge" "$RN_CNI_BIN/host-local" \
             "$RN_CNI_BIN/loopback" "$RN_IMAGES/pause-$PAUSE_VERSION.tar" "$RN_IMAGES/busybox-$RN_BUSYBOX_VERSION.tar"; do
        [ -s "$f" ] || return 1
    done
}

realnode_build() {
    rn_built && return 0
    mkdir -p "$RN_CACHE"
    exec 7>"$RN_CACHE/build.lock"
    flock -w 3600 7 || die "another real-node build did not finish within an hour"
    if rn_built; then exec 7>&-; return 0; fi
    local t0; t0=$(date +%s)
    log "first build of the real node into $RN_CACHE (cold: see docs/local-cluster.md)"
    rn_apt gcc libc6-dev pkg-config libseccomp-dev openssl iproute2 "busybox-static=$BUSYBOX_STATIC_DEB_VERSION"
    if [ ! -x "$BIN/kubelet" ]; then
        local t; t=$(date +%s)
        log "building kubelet (k8s.io/kubernetes/cmd/kubelet, the control plane's wrapper module) ..."
        (cd "$(kube_module)" && GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 go build -trimpath \
            -ldflags "-s -w $(kube_vflags)" -o "$BIN/kubelet.tmp" k8s.io/kubernetes/cmd/kubelet) ||
            die "building kubelet failed"
        mv "$BIN/kubelet.tmp" "$BIN/kubelet"
        log "built kubelet in $(($(date +%s) - t))s"
    fi
    local m=github.com/containerd/containerd/v2
    [ -x "$RN_CONTAINERD_BIN/containerd" ] && [ -x "$RN_CONTAINERD_BIN/containerd-shim-runc-v2" ] &&
        [ -x "$RN_CONTAINERD_BIN/ctr" ] ||
        rn_go_install "$RN_CONTAINERD_BIN" 0 "" "-X $m/version.Version=$CONTAINERD_VERSION" \
            "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
            "$m/cmd/ctr@$CONTAINERD_VERSION"
    [ -x "$RN_RUNC_BIN/runc" ] ||
        rn_go_install "$RN_RUNC_BIN" 1 seccomp "-X main.version=${RUNC_VERSION#v}" \
            "github.com/opencontainers/runc@$RUNC_VERSION"
    m=github.com/containernetworking/plugins/plugins
    [ -x "$RN_CNI_BIN/bridge" ] && [ -x "$RN_CNI_BIN/host-local" ] && [ -x "$RN_CNI_BIN/loopback" ] ||
        rn_go_install "$RN_CNI_BIN" 0 "" "" "$m/main/bridge@$CNI_PLUGINS_VERSION" \
            "$m/ipam/host-local@$CNI_PLUGINS_VERSION" "$m/main/loopback@$CNI_PLUGINS_VERSION"
    rn_images
    log "real node built in $(($(date +%s) - t0))s: $(du -sh "$RN_CACHE" | cut -f1) in $RN_CACHE, kubelet $(du -h "$BIN/kubelet" | cut -f1)"
    exec 7>&-
}

rn_images() {
    mkdir -p "$RN_IMAGES"
    local dir src
    if [ ! -s "$RN_IMAGES/pause-$PAUSE_VERSION.tar" ]; then
        # pause.c as upstream ships it in k8s.io/kubernetes (build/pause/linux), built static.
        src=$(cd "$(kube_module)" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
            sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/build/pause/linux/pause.c
        [ -f "$src" ] || die "no pause.c in k8s.io/kubernetes@$KUBE_VERSION ($src)"
        dir=$(mktemp -d)
        gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-heat-k8s-hook" -o "$dir/pause" "$src" ||
            die "building pause failed"
        strip "$dir/pause"
        python3 "$here/cluster/mkimage.py" "$RN_IMAGES/pause-$PAUSE_VERSION.tar" "$RN_PAUSE_IMAGE" "$dir" \
            --entrypoint '["/pause"]' >/dev/null || die "making the pause image failed"
        rm -rf "$dir"
    fi
    if [ ! -s "$RN_IMAGES/busybox-$RN_BUSYBOX_VERSION.tar" ]; then
        # The same image as tools/local-docker's local/busybox (one recipe, the same digest).
        python3 "$here/cluster/mkimage.py" "$RN_IMAGES/busybox-$RN_BUSYBOX_VERSION.tar" "docker.io/$RN_BUSYBOX_IMAGE" \
            --busybox >/dev/null || die "making the busybox image failed"
    fi
}

# --- run -------------------------------------------------------------------------------------

rn_pid() { pid_exe_alive "$RN_STATE/$1.pid" "$2"; } # rn_pid NAME EXE: the pid in $RN_STATE/NAME.pid if that process runs EXE

rn_ctr() { "$RN_CONTAINERD_BIN/ctr" --address "$RN_SOCK" -n k8s.io "$@"; }

rn_node_ready() {
    [ "$(kubectl get node "$RN_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

rn_kwok_restricted() { # kwok-controller must not manage nodes without the fake annotation
    local pid
    pid=$(cat "$CLUSTER_DIR/pids/kwok-controller.pid" 2>/dev/null) || return 1
    tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -q '^--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake$'
}

rn_cgroup_dirs() { # every cgroup v1 hierarchy's directory for the node's cgroupRoot
    local d
    for d in /sys/fs/cgroup/*/; do
        d=${d%/}
        case $(stat -fc %T "$d" 2>/dev/null) in
            cgroupfs) echo "$d/$RN_CGROUP" ;;
            # the hybrid unified hierarchy: runc makes the node's cgroups there too
            cgroup2fs) [ "${1:-}" = all ] && echo "$d/$RN_CGROUP" ;;
        esac
    done
}

# A cluster made before issue 28 runs kwok-controller with --manage-all-nodes=true. Recreating
# it would stop everyone's tests on it: restart kwok-controller alone (pid file, same command line
# and log, the selector of tools/cluster/kwokctl.yaml). The simulation pauses about a second.
rn_restrict_kwok() {
    local f=$CLUSTER_DIR/pids/kwok-controller.pid pid exe args=() new=() a
    pid=$(cat "$f" 2>/dev/null) || die "no kwok-controller pid file in $CLUSTER_DIR/pids"
    exe=$(proc_exe "$pid" || true)
    case "$exe" in "$CLUSTER_DIR"/*|"$BIN"/*) ;; *) die "kwok-controller (pid $pid) is not running" ;; esac
    mapfile -d '' args < "/proc/$pid/cmdline"
    for a in "${args[@]}"; do
        case $a in --manage-all-nodes=*|--manage-nodes-with-annotation-selector=*) ;; *) new+=("$a") ;; esac
    done
    new+=(--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake)
    local cwd; cwd=$(readlink "/proc/$pid/cwd")
    log "kwok-controller manages all nodes (cluster made before issue 28): restarting it restricted to kwok.x-k8s.io/node=fake"
    kill -KILL "$pid"
    for _ in $(seq 1 100); do proc_gone "$pid" && break; sleep 0.05; done
    # spawn_group's pid file has no newline: kwokctl parses it with Atoi and treats a failure as
    # "not running", so `down` would leave the process behind
    (cd "$cwd" && spawn_group "$f" "$CLUSTER_DIR/logs/kwok-controller.log" "" "${new[@]}")
    sleep 1
    rn_kwok_restricted || die "kwok-controller did not start again restricted (log: $CLUSTER_DIR/logs/kwok-controller.log)"
}

realnode_up() {
    [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] || die "the real node is set up for cgroup v1 (this machine: $(stat -fc %T /sys/fs/cgroup))"
    rn_kwok_restricted || rn_restrict_kwok
    if rn_pid kubelet "$BIN/kubelet" >/dev/null && rn_pid containerd "$RN_CONTAINERD_BIN/containerd" >/dev/null &&
        rn_node_ready; then
        log "real node $RN_NAME already running; reusing it"
        return 0
    fi
    if [ -f "$RN_OWNER" ] && [ "$(cat "$RN_OWNER")" != "$RN_STATE" ] && [ -d "$(cat "$RN_OWNER")" ]; then
        die "another cluster's real node runs on this machine (state $(cat "$RN_OWNER")); one per machine"
    fi
    [ -d "$RN_STATE" ] && { log "removing a real node that no longer runs"; realnode_down; }
    local t0 s c d server
    t0=$(date +%s)
    mkdir -p "$RN_STATE"/{containerd,kubelet,pod-logs,cni/net.d,cni/ipam,certs.d/_default,pki}
    echo "$RN_STATE" > "$RN_OWNER"
    : > "$RN_STATE/sysctl.saved"
    for s in $RN_SYSCTLS; do echo "$s=$(sysctl -n "$s")" >> "$RN_STATE/sysctl.saved"; done
    for d in $(rn_cgroup_dirs); do
        mkdir -p "$d"
        case $d in /sys/fs/cgroup/cpuset/*)
            cat /sys/fs/cgroup/cpuset/cpuset.cpus > "$d/cpuset.cpus"
            cat /sys/fs/cgroup/cpuset/cpuset.mems > "$d/cpuset.mems" ;;
        esac
    done

    # containerd: its own root, state, socket and registry configuration; CRI with runc.
    cat > "$RN_STATE/certs.d/_default/hosts.toml" <<EOF
server = "$RN_REGISTRY"
[host."$RN_REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF
    cat > "$RN_STATE/containerd/config.toml" <<EOF
version = 3
root = "$RN_STATE/containerd/root"
state = "$RN_STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$RN_SOCK"
[ttrpc]
  address = "$RN_SOCK.ttrpc"
[debug]
  address = "$RN_STATE/containerd/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$RN_PAUSE_IMAGE"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$RN_STATE/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  netns_mounts_under_state_dir = true
  # Sessions here lack CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own
  # (the pause container asks -998); clamp it instead of failing every sandbox.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$RN_RUNC_BIN/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$RN_CNI_BIN"]
    conf_dir = "$RN_STATE/cni/net.d"
    max_conf_num = 1
EOF
    cat > "$RN_STATE/cni/net.d/10-heat-k8s-hook.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "heat-k8s-hook-real-node",
  "plugins": [
    {"type": "bridge", "bridge": "$RN_BRIDGE", "isGateway": true, "ipMasq": false,
     "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$RN_STATE/cni/ipam",
              "ranges": [[{"subnet": "$RN_SUBNET"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
  ]
}
EOF
    log "starting containerd $CONTAINERD_VERSION ($RN_SOCK)"
    PATH="$RN_CONTAINERD_BIN:$RN_RUNC_BIN:/usr/sbin:/usr/bin:/sbin:/bin" spawn_group \
        "$RN_STATE/containerd.pid" "$RN_STATE/containerd.log" "" \
        "$RN_CONTAINERD_BIN/containerd" --config "$RN_STATE/containerd/config.toml"
    for c in $(seq 1 120); do
        rn_ctr version >/dev/null 2>&1 && break
        rn_pid containerd "$RN_CONTAINERD_BIN/containerd" >/dev/null || die "containerd exited (log: $RN_STATE/containerd.log)"
        sleep 0.25
    done
    rn_ctr version >/dev/null 2>&1 || die "containerd did not answer on $RN_SOCK (log: $RN_STATE/containerd.log)"
    for c in "$RN_IMAGES/pause-$PAUSE_VERSION.tar" "$RN_IMAGES/busybox-$RN_BUSYBOX_VERSION.tar"; do
        rn_ctr images import --platform linux/amd64 "$c" >/dev/null 2>"$RN_STATE/import.err" ||
            die "ctr images import $c failed: $(cat "$RN_STATE/import.err")"
    done
    rn_ctr images label "$RN_PAUSE_IMAGE" io.cri-containerd.pinned=pinned >/dev/null 2>&1 || true

    # The kubelet: a client certificate of its own (system:node:real-node-0, group system:nodes,
    # signed by the cluster's CA), so the Node authorizer treats it as a node.
    openssl req -new -newkey rsa:2048 -nodes -keyout "$RN_STATE/pki/kubelet.key" \
        -subj "/O=system:nodes/CN=system:node:$RN_NAME" -out "$RN_STATE/pki/kubelet.csr" 2>/dev/null &&
    openssl x509 -req -in "$RN_STATE/pki/kubelet.csr" -CA "$CLUSTER_DIR/pki/ca.crt" \
        -CAkey "$CLUSTER_DIR/pki/ca.key" -CAcreateserial -days 30 -out "$RN_STATE/pki/kubelet.crt" 2>/dev/null ||
        die "could not issue the kubelet's client certificate"
    server=$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')
    cat > "$RN_STATE/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $server
    certificate-authority: $CLUSTER_DIR/pki/ca.crt
users:
- name: kubelet
  user:
    client-certificate: $RN_STATE/pki/kubelet.crt
    client-key: $RN_STATE/pki/kubelet.key
contexts:
- name: local
  context: {cluster: local, user: kubelet}
current-context: local
EOF
    chmod 600 "$RN_STATE/kubelet.kubeconfig" "$RN_STATE/pki/kubelet.key"
    cat > "$RN_STATE/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine: cgroup v1, no systemd as PID 1, no swap.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$RN_CGROUP
cgroupsPerQOS: true
failSwapOn: false
containerRuntimeEndpoint: unix://$RN_SOCK
address: $RN_GATEWAY
port: $RN_KUBELET_PORT
healthzBindAddress: 127.0.0.1
healthzPort: $RN_KUBELET_HEALTHZ_PORT
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CLUSTER_DIR/pki/ca.crt}
authorization:
  mode: Webhook
podLogsDir: $RN_STATE/pod-logs
maxPods: 30
registerWithTaints:
- {key: $RN_TAINT, value: "true", effect: NoSchedule}
# Never evict or collect images for disk: the images cannot be pulled again.
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
EOF
    # The bridge with the pods' gateway address, made before the first pod so that it is also
    # the node's address (the kubelet refuses a loopback node IP): the API server reaches the
    # kubelet there, and the host the pods.
    if ! ip link show "$RN_BRIDGE" >/dev/null 2>&1; then
        ip link add "$RN_BRIDGE" type bridge && ip addr add "$RN_GATEWAY/${RN_SUBNET#*/}" dev "$RN_BRIDGE" &&
            ip link set "$RN_BRIDGE" up || die "could not create the bridge $RN_BRIDGE"
    fi
    log "starting kubelet $KUBE_VERSION as $RN_NAME"
    spawn_group "$RN_STATE/kubelet.pid" "$RN_STATE/kubelet.log" "" \
        "$BIN/kubelet" --config "$RN_STATE/kubelet.yaml" --kubeconfig "$RN_STATE/kubelet.kubeconfig" \
        --root-dir "$RN_STATE/kubelet" --cert-dir "$RN_STATE/pki" --hostname-override "$RN_NAME" \
        --node-ip "$RN_GATEWAY" --node-labels type=real --v 2
    for c in $(seq 1 240); do
        rn_node_ready && break
        rn_pid kubelet "$BIN/kubelet" >/dev/null || die "kubelet exited (log: $RN_STATE/kubelet.log): $(grep -E '^E|run.go' "$RN_STATE/kubelet.log" | tail -3)"
        sleep 0.25
    done
    rn_node_ready || die "node $RN_NAME did not become Ready in 60 s (log: $RN_STATE/kubelet.log)"
    log "real node $RN_NAME Ready in $(($(date +%s) - t0))s (containerd $CONTAINERD_VERSION, runc $RUNC_VERSION; logs in $RN_STATE)"
}

rn_stop() { # rn_stop NAME EXE: SIGTERM, then SIGKILL after 10 s
    local pid
    if pid=$(rn_pid "$1" "$2"); then proc_stop "$pid" 10; fi
    rm -f "$RN_STATE/$1.pid"
}

realnode_down() {
    [ -d "$RN_STATE" ] || return 0
    local c d m s pid left
    rn_stop kubelet "$BIN/kubelet"
    # Every container and sandbox, through containerd, while it runs; their shims then exit.
    if rn_pid containerd "$RN_CONTAINERD_BIN/containerd" >/dev/null; then
        for c in $(rn_ctr tasks ls -q 2>/dev/null); do rn_ctr tasks kill -s KILL "$c" >/dev/null 2>&1 || true; done
        sleep 0.5
        for c in $(rn_ctr tasks ls -q 2>/dev/null); do rn_ctr tasks delete -f "$c" >/dev/null 2>&1 || true; done
        for c in $(rn_ctr containers ls -q 2>/dev/null); do rn_ctr containers rm "$c" >/dev/null 2>&1 || true; done
    fi
    # Whatever still runs in the node's cgroups (processes of containers, shims) was started by it.
    for d in $(rn_cgroup_dirs all); do
        [ -d "$d" ] || continue
        find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done
    done
    for pid in $(pgrep -f -- "-address $RN_SOCK" 2>/dev/null); do
        [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$RN_CONTAINERD_BIN/containerd-shim-runc-v2" ] && kill -KILL "$pid" 2>/dev/null
    done
    rn_stop containerd "$RN_CONTAINERD_BIN/containerd"
    # Mounts under the node's state (rootfs overlays, pod volumes, netns, the kubelet's rshared
    # bind of its root dir), deepest first.
    for m in $(awk -v p="$RN_STATE/" 'index($5, p) == 1 || $5 == substr(p, 1, length(p) - 1) {print $5}' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
    ip link show "$RN_BRIDGE" >/dev/null 2>&1 && ip link del "$RN_BRIDGE"
    for d in $(rn_cgroup_dirs all); do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        [ -d "$d" ] && log "cgroup $d left (processes still in it)"
    done
    if [ -f "$RN_STATE/sysctl.saved" ]; then
        while IFS= read -r s; do [ -n "${s#*=}" ] && sysctl -qw "$s" >/dev/null; done < "$RN_STATE/sysctl.saved"
    fi
    if running; then kubectl delete node "$RN_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true; fi
    left=$(awk -v p="$RN_STATE/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo)
    if [ -n "$left" ]; then
        die "mounts left under $RN_STATE, not removing it: $left"
    fi
    rm -rf --one-file-system "$RN_STATE"
    [ "$(cat "$RN_OWNER" 2>/dev/null)" = "$RN_STATE" ] && rm -f "$RN_OWNER"
    log "real node $RN_NAME stopped; mounts, netns, bridge $RN_BRIDGE and cgroups removed, sysctls restored"
}

realnode_status() {
    if rn_pid kubelet "$BIN/kubelet" >/dev/null; then
        echo "real node $RN_NAME: kubelet pid $(cat "$RN_STATE/kubelet.pid"), containerd pid $(cat "$RN_STATE/containerd.pid" 2>/dev/null), state $RN_STATE"
    fi
}
