# shellcheck shell=bash disable=SC2154   # $here and the rest come from tools/local-cluster
# The TokenReview webhook of the local cluster (issue 13), sourced by tools/local-cluster.
#
# kube-apiserver is always started with --authentication-token-webhook-config-file (the
# kubeconfig written here: the webhook's URL, its CA, a client certificate), so the cluster has
# one shape. Client certificates and ServiceAccount tokens are unaffected; any other bearer
# token goes to the webhook, which validates it against tools/local-heat's Keystone.
# `tools/local-cluster webhook up` starts it; everything lives under $STATE/tokenreview.

TR_DIR=$STATE/tokenreview
TR_HOST=127.0.0.1
TR_PORT=${HEAT_K8S_HOOK_TOKENREVIEW_PORT:-26443}
TR_KUBECONFIG=$TR_DIR/apiserver-webhook.kubeconfig
TR_PID=$TR_DIR/tokenreview.pid
TR_LOG=$TR_DIR/tokenreview.log
TR_MARKER=heat_k8s_hook.tokenreview

tr_cert() { # tr_cert NAME SUBJECT EXTENSIONS: an EC key and a certificate signed by our CA
    local name=$1 subject=$2 ext=$3
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TR_DIR/$name.key" -out "$TR_DIR/$name.csr" -subj "$subject" 2>/dev/null &&
    openssl x509 -req -in "$TR_DIR/$name.csr" -CA "$TR_DIR/ca.crt" -CAkey "$TR_DIR/ca.key" \
        -CAcreateserial -days 3650 -out "$TR_DIR/$name.crt" \
        -extfile <(printf '%s\n' "$ext") 2>/dev/null &&
    rm -f "$TR_DIR/$name.csr"
}

# TLS material (a private CA, the webhook's server certificate for 127.0.0.1, the API server's
# client certificate) and the API server's webhook kubeconfig. Made once, kept across restarts.
tokenreview_material() {
    [ -f "$TR_KUBECONFIG" ] && [ -f "$TR_DIR/server.crt" ] && [ -f "$TR_DIR/client.crt" ] && return 0
    command -v openssl >/dev/null || die "openssl is required (the webhook's TLS material)"
    mkdir -p "$TR_DIR"; chmod 700 "$TR_DIR"
    log "tokenreview: making TLS material and the webhook kubeconfig in $TR_DIR"
    (umask 077
     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -keyout "$TR_DIR/ca.key" -out "$TR_DIR/ca.crt" -subj "/CN=heat-k8s-hook tokenreview CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null &&
     tr_cert server "/CN=$TR_HOST" "subjectAltName=IP:$TR_HOST,DNS:localhost
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature" &&
     tr_cert client "/CN=kube-apiserver" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
    ) || die "openssl could not make the webhook's TLS material"
    cat > "$TR_KUBECONFIG.tmp" <<EOF
# kube-apiserver --authentication-token-webhook-config-file (made by tools/local-cluster)
apiVersion: v1
kind: Config
clusters:
- name: tokenreview
  cluster:
    server: https://$TR_HOST:$TR_PORT/
    certificate-authority: $TR_DIR/ca.crt
users:
- name: kube-apiserver
  user:
    client-certificate: $TR_DIR/client.crt
    client-key: $TR_DIR/client.key
contexts:
- name: webhook
  context: {cluster: tokenreview, user: kube-apiserver}
current-context: webhook
EOF
    mv "$TR_KUBECONFIG.tmp" "$TR_KUBECONFIG"
}

# The kwokctl configuration with the webhook kubeconfig's path filled in.
rendered_kwokctl_config() {
    local out=$STATE/kwokctl-$CLUSTER.yaml
    sed "s#@TOKENREVIEW_KUBECONFIG@#$TR_KUBECONFIG#g" "$here/cluster/kwokctl.yaml" > "$out.tmp"
    mv "$out.tmp" "$out"
    echo "$out"
}

# Does the running kube-apiserver use the webhook? (a cluster made before issue 13 does not)
apiserver_wired() {
    local pid
    pid=$(apiserver_pid) || return 1
    tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qx -- "--authentication-token-webhook-config-file=$TR_KUBECONFIG"
}

tr_alive() { pid_alive "$TR_PID" >/dev/null; }

tr_healthy() {
    curl -fsS -o /dev/null --max-time 3 --cacert "$TR_DIR/ca.crt" --cert "$TR_DIR/client.crt" \
        --key "$TR_DIR/client.key" "https://$TR_HOST:$TR_PORT/healthz" 2>/dev/null
}

# The webhook's own Keystone user, reader on the system (tools/cluster/tokenreview-user.py):
# least privilege, as the README asks. Its password is made once (0600) and set again at every
# start, so a wiped Keystone or state dir heals.
TR_SERVICE_USER=heat-k8s-hook-tokenreview

# The webhook's configuration: local-heat's Keystone, the user above, Heat's stack-user domain
# ("heat" in tools/local-heat's heat.conf). 0600: it holds a password.
tokenreview_config() { # tokenreview_config LOCAL_HEAT_ENV_FILE VENV
    local env=$1 venv=$2 auth_url admin_password pwfile=$TR_DIR/service.password
    for _ in 1 2 3 4 5; do  # another `tools/local-heat up` may be rewriting the file right now
        auth_url=$(sed -n 's/^export OS_AUTH_URL=//p' "$env")
        admin_password=$(sed -n 's/^export LOCAL_HEAT_ADMIN_PASSWORD=//p' "$env")
        [ -n "$auth_url" ] && [ -n "$admin_password" ] && break
        sleep 1
    done
    [ -n "$auth_url" ] && [ -n "$admin_password" ] || die "no OS_AUTH_URL or admin password in $env"
    [ -s "$pwfile" ] || (umask 077; head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$pwfile")
    TR_ADMIN_PASSWORD=$admin_password TR_SERVICE_PASSWORD=$(cat "$pwfile") \
        "$venv/bin/python" "$here/cluster/tokenreview-user.py" "$auth_url" "$TR_SERVICE_USER" \
        || die "could not make the webhook's Keystone user $TR_SERVICE_USER"
    (umask 077; cat > "$TR_DIR/config.yaml" <<EOF
# python -m heat_k8s_hook.tokenreview --config (made by tools/local-cluster webhook up)
listen: $TR_HOST:$TR_PORT
tls_cert_file: $TR_DIR/server.crt
tls_key_file: $TR_DIR/server.key
tls_client_ca_file: $TR_DIR/ca.crt
cache_ttl: ${HEAT_K8S_HOOK_TOKENREVIEW_CACHE_TTL:-30}
stack_user_domain_name: heat
keystone:
  auth_type: password
  auth_url: "$auth_url"
  username: $TR_SERVICE_USER
  password: "$(cat "$pwfile")"
  user_domain_id: default
  system_scope: all
  # one try within kube-apiserver's 30 s webhook timeout (a loaded local Keystone can take 20 s)
  timeout: 25
EOF
    )
}

tokenreview_env() { # what tests and the hook side need; no secrets
    local server
    server=$(sed -n 's/^ *server: //p' "$KUBECONFIG_PATH" | head -n1)
    cat > "$TR_DIR/env" <<EOF
# source me: the local cluster's TokenReview webhook (tools/local-cluster webhook up)
export TOKENREVIEW_URL=https://$TR_HOST:$TR_PORT/
export TOKENREVIEW_CA=$TR_DIR/ca.crt
export TOKENREVIEW_CLIENT_CERT=$TR_DIR/client.crt
export TOKENREVIEW_CLIENT_KEY=$TR_DIR/client.key
export TOKENREVIEW_CONFIG=$TR_DIR/config.yaml
export TOKENREVIEW_LOG=$TR_LOG
export KUBE_SERVER=$server
export KUBE_CA=$CLUSTER_DIR/pki/ca.crt
EOF
    echo "$TR_DIR/env"
}

tr_lock() { # one `webhook up|down` at a time (test sessions start in parallel)
    mkdir -p "$TR_DIR"; chmod 700 "$TR_DIR"
    exec 7>"$TR_DIR/webhook.lock"
    flock -w 300 7 || die "another tools/local-cluster webhook up/down is still running after 5 minutes"
}

webhook_up() {
    local env venv
    env=$("$here/local-heat" up 7>&- 9>&- | tail -n1) || die "tools/local-heat up failed (the webhook needs its Keystone)"
    tokenreview_material
    tr_lock
    if ! tr_alive; then
        venv=$("$here/venv") || die "tools/venv failed"
        tokenreview_config "$env" "$venv"
        log "tokenreview: starting the webhook on https://$TR_HOST:$TR_PORT (log: $TR_LOG)"
        spawn_group "$TR_PID" "$TR_LOG" "$TR_MARKER" "$venv/bin/python" -m "$TR_MARKER" --config "$TR_DIR/config.yaml"
    fi
    for _ in $(seq 1 120); do
        tr_healthy && break
        tr_alive || { tail -n 5 "$TR_LOG" >&2; die "the webhook exited (log: $TR_LOG)"; }
        sleep 0.25
    done
    tr_healthy || die "the webhook does not answer on https://$TR_HOST:$TR_PORT (log: $TR_LOG)"
    tr_alive || log "WARNING: a webhook this state dir did not start answers on $TR_PORT" \
        "(ours exited: $(tail -n1 "$TR_LOG")); stop it, then webhook up again"
    exec 7>&-   # before `up`: the cluster's processes must not inherit the webhook's lock
    up >/dev/null
    tokenreview_env
}

webhook_down() {
    local pid
    [ -d "$TR_DIR" ] || return 0
    tr_lock
    if pid=$(pid_alive "$TR_PID"); then
        proc_stop "$pid" 5
        log "tokenreview: webhook (pid $pid) stopped"
    fi
    rm -f "$TR_PID"
    exec 7>&-
}

webhook_status() {
    if tr_alive && tr_healthy; then
        echo "tokenreview webhook: running (pid $(cut -d' ' -f1 "$TR_PID")) on https://$TR_HOST:$TR_PORT"
    else
        echo "tokenreview webhook: not running"; return 3
    fi
}

webhook() {
    case "${1:-}" in
        up) webhook_up ;;
        down) webhook_down ;;
        status) webhook_status ;;
        env) echo "$TR_DIR/env" ;;
        *) echo "usage: tools/local-cluster webhook up|down|status|env" >&2; exit 2 ;;
    esac
}
