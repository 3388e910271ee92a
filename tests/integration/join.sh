#!/bin/bash
# The secure join (kubeadm's discovery) against an HTTPS stand-in on loopback that answers cluster-info
# and kubelet-config as a kubeadm-made API server does (tests/stand-ins/discovery-server): the CA pinned
# by its hash or given as a file, a wrong pin or token refused before anything starts and without the
# token ever reaching the server, a rogue server learning nothing, a token file others can read refused;
# then a node that joined (containerd only: no kubelet here) whose files hold the token only where the
# kubelet reads it, with no secret in any process's command line or environment.
. "${top_srcdir:-.}/tests/integration/lib.sh"
set -o pipefail

[ "$(id -u)" -eq 0 ] || skip "needs root to create the test user"
for b in openssl python3 jq; do command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"; done
ensure_test_user

WORK=$(mktemp -d /tmp/usernode-join.XXXXXX)
servers=()
cleanup() {
        for p in "${servers[@]}"; do kill "$p" 2>/dev/null || :; done
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home" \
                        "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || :
        done
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home" "$WORK/pki"
chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"
chmod 0700 "$WORK/xdg"

# pki NAME: a CA and a serving certificate for 127.0.0.1 signed by it.
pki() {
        d=$WORK/pki/$1
        mkdir -p "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 1 \
                -subj "/CN=$1-ca" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=$1" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
        openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 1 \
                -extfile "$d/ext" -out "$d/server.crt" 2>/dev/null
        cat "$d/server.crt" "$d/ca.crt" >"$d/chain.crt"
        chmod -R a+rX "$d"
}
# pin FILE: kubeadm's --discovery-token-ca-cert-hash of a CA certificate.
pin() {
        echo "sha256:$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)"
}
# serve NAME ARGS...: a discovery server with NAME's certificate; sets PORT and LOG.
serve() {
        name=$1
        shift
        LOG=$WORK/$name-$RANDOM.log
        mkfifo "$WORK/port"
        python3 "$top_srcdir/tests/stand-ins/discovery-server" --cert "$WORK/pki/$name/chain.crt" \
                --key "$WORK/pki/$name/server.key" --ca "$WORK/pki/$name/ca.crt" --port-file "$WORK/port" \
                --log "$LOG" "$@" &
        servers+=($!)
        read -r PORT <"$WORK/port"
        rm -f "$WORK/port"
}
# as_user CMD...: runs CMD as the test user in the node's environment; its stderr goes to $WORK/err.
as_user() {
        runuser -u "$TEST_USER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK/home" \
                XDG_RUNTIME_DIR="$WORK/xdg" USERNODE_TEMPLATE_DIR="${USERNODE_TEMPLATE_DIR:-}" "$@" 2>"$WORK/err"
}
# up_fails CODE WHAT ARGS...: `up` exits CODE with WHAT in its error, and nothing of the node started.
up_fails() {
        code=$1 what=$2
        shift 2
        set +e
        as_user "$USERNODE" up --engine kubelet --name refused --ignore 'cgroup.*,engine.kubelet' "$@" >/dev/null
        rc=$?
        set -e
        [ "$rc" = "$code" ] || fail "up $*: exit $rc, expected $code: $(cat "$WORK/err")"
        grep -qF -- "$what" "$WORK/err" || fail "up $*: error lacks '$what': $(cat "$WORK/err")"
        [ ! -e "$WORK/xdg/usernode/refused/status.json" ] || fail "up $*: a node started: $(cat "$WORK/err")"
        [ ! -e "$WORK/home/.local/share/usernode/nodes/refused/kubelet/bootstrap-kubeconfig.json" ] ||
                fail "up $*: the token was written although the join was refused"
}
# no_token_sent LOG: the server saw no request carrying a token.
no_token_sent() {
        ! grep -q 'authorization=Bearer' "$1" || fail "the token reached the server: $(cat "$1")"
}

pki cluster
pki rogue
good=$(pin "$WORK/pki/cluster/ca.crt")
token=abcdef.0123456789abcdef
printf '%s\n' "$token" >"$WORK/home/token"
chown "$TEST_USER:" "$WORK/home/token"
chmod 0600 "$WORK/home/token"

serve cluster --tokens "$WORK/home/token"
server=127.0.0.1:$PORT
cluster_log=$LOG

# Without a way to know the cluster's CA, joining is refused before anything is asked.
: >"$cluster_log"
up_fails 2 "refusing to trust the cluster" --server "$server" --token-file "$WORK/home/token"
[ ! -s "$cluster_log" ] || fail "a request went out without a CA to check: $(cat "$cluster_log")"

# A wrong pin: refused after the anonymous read of cluster-info, the token never sent.
wrong=sha256:$(printf '%064d' 0)
up_fails 1 "does not match --discovery-token-ca-cert-hash $wrong" --server "$server" \
        --token-file "$WORK/home/token" --discovery-token-ca-cert-hash "$wrong"
no_token_sent "$cluster_log"

# A token the cluster does not know, or with a wrong secret: cluster-info carries no valid signature.
printf 'zzzzzz.0123456789abcdef\n' >"$WORK/home/unknown" && chmod 0600 "$WORK/home/unknown"
printf 'abcdef.ffffffffffffffff\n' >"$WORK/home/badsecret" && chmod 0600 "$WORK/home/badsecret"
chown "$TEST_USER:" "$WORK/home/unknown" "$WORK/home/badsecret"
up_fails 1 "the API server refused the bootstrap token: cluster-info has no signature for token ID zzzzzz" \
        --server "$server" --token-file "$WORK/home/unknown" --discovery-token-ca-cert-hash "$good"
up_fails 1 "the API server refused the bootstrap token: cluster-info's signature for token ID abcdef does not verify" \
        --server "$server" --token-file "$WORK/home/badsecret" --discovery-token-ca-cert-hash "$good"
no_token_sent "$cluster_log"

# A token file others can read is refused, as ssh refuses such a key.
chmod 0644 "$WORK/home/token"
up_fails 2 "chmod 600" --server "$server" --token-file "$WORK/home/token" --discovery-token-ca-cert-hash "$good"
chmod 0600 "$WORK/home/token"

# A token that signed cluster-info but that the API server no longer accepts: the API's own answer.
serve cluster --tokens "$WORK/home/token" --revoked
up_fails 1 "the API server refused the bootstrap token: Unauthorized" --server "127.0.0.1:$PORT" \
        --token-file "$WORK/home/token" --discovery-token-ca-cert-hash "$good"

# A rogue server (its own CA, self-signed) where the cluster was expected: with the pin or with the
# cluster's CA file, it never sees the token.
serve rogue
rogue_log=$LOG
up_fails 1 "refused the bootstrap token" --server "127.0.0.1:$PORT" --token-file "$WORK/home/token" \
        --discovery-token-ca-cert-hash "$good"
up_fails 1 "cannot reach the API server with the cluster's CA" --server "https://127.0.0.1:$PORT" \
        --token-file "$WORK/home/token" --ca-file "$WORK/pki/cluster/ca.crt"
no_token_sent "$rogue_log"
grep -q 'cluster-info' "$rogue_log" || fail "the rogue server was not even asked: the test proves nothing"

# A cluster that is not kubeadm's publishes no cluster-info: the CA file is the way.
serve cluster --tokens "$WORK/home/token" --no-cluster-info
up_fails 1 "does not publish kube-public/cluster-info" --server "127.0.0.1:$PORT" --token-file "$WORK/home/token" \
        --discovery-token-ca-cert-hash "$good"

# The line kubeadm prints, one word changed, passes discovery (here --dry-run only shows what would run).
as_user "$USERNODE" up --engine kubelet --server "$server" --token "$token" --discovery-token-ca-cert-hash "$good" \
        --dry-run >"$WORK/dry" || fail "kubeadm's join line refused: $(cat "$WORK/err")"
grep -q "warning: --token puts the join token on a command line" "$WORK/err" || fail "--token without a warning"
grep -qx "server: https://$server" "$WORK/dry" || fail "HOST:PORT not taken as https://HOST:PORT: $(cat "$WORK/dry")"
! grep -qF "$token" "$WORK/dry" || fail "the token is in what up would run: $(cat "$WORK/dry")"

# A node that joins for real, as far as this host can go without a kubelet: containerd only.
for b in rootlesskit slirp4netns containerd newuidmap; do
        command -v "$b" >/dev/null 2>&1 || { echo "join: $b is not installed: the running part is skipped"; exit 0; }
done
: >"$cluster_log"
as_user "$USERNODE" up --engine kubelet --name joined --server "$server" --token-file "$WORK/home/token" \
        --discovery-token-ca-cert-hash "$good" --ignore 'cgroup.*,engine.kubelet' --wait=60 --json >"$WORK/up.json" ||
        fail "up: $(cat "$WORK/err")"
data=$WORK/home/.local/share/usernode/nodes/joined
cmp "$data/kubelet/pki/ca.crt" "$WORK/pki/cluster/ca.crt" || fail "the node does not hold the cluster's CA"
bootstrap=$data/kubelet/bootstrap-kubeconfig.json
[ "$(stat -c %a "$bootstrap")" = 600 ] || fail "the bootstrap kubeconfig is not 0600"
[ "$(jq -r '.clusters[0].cluster["certificate-authority"]' "$bootstrap")" = "$data/kubelet/pki/ca.crt" ] ||
        fail "the bootstrap kubeconfig does not trust the cluster's CA: $(jq -c .clusters "$bootstrap")"
! grep -q insecure "$bootstrap" || fail "insecure-skip-tls-verify in the bootstrap kubeconfig"
grep -q '^clusterDNS:' "$data/kubelet/cluster-config.yaml" || fail "the cluster's kubelet-config was not kept"
grep -q "GET /api/v1/namespaces/kube-system/configmaps/kubelet-config authorization=Bearer" "$cluster_log" ||
        fail "kubelet-config was not read with the token: $(cat "$cluster_log")"

# No secret anywhere another process could read it: command lines, environments, the node's files
# other than the one the kubelet reads (patterns from a file: never on grep's own command line).
printf '%s\n' "${token#*.}" >"$WORK/secret"
for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
        if grep -qaF -f "$WORK/secret" "$f" 2>/dev/null; then
                pid=${f#/proc/}
                fail "the token's secret is in $f: $(tr '\0' ' ' <"/proc/${pid%%/*}/cmdline" 2>/dev/null)"
        fi
done
leak=$(grep -rlaF -f "$WORK/secret" "$WORK/xdg" "$data" 2>/dev/null | grep -vxF "$bootstrap" || :)
[ -z "$leak" ] || fail "the token's secret is in $leak"
as_user "$USERNODE" down --name joined --purge >/dev/null || fail "down --purge: $(cat "$WORK/err")"
[ ! -e "$data" ] || fail "down --purge left $data"
echo "join: ok"
