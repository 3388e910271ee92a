#!/bin/sh
# up's configuration: the user's config.yaml, --config FILE, per-node sections and flags, in that
# order of precedence, seen through `up --dry-run`; errors name file:line:column and exit 2.
# (The system file /etc/usernode/config.yaml is read first; the unit tests cover its order, this
# test leaves the host's /etc alone.)
. "${top_srcdir:-.}/tests/integration/lib.sh"

[ -e /dev/net/tun ] && [ -r /dev/net/tun ] && [ -w /dev/net/tun ] || skip "/dev/net/tun is not usable by $(id -un)"
command -v slirp4netns >/dev/null 2>&1 || skip "slirp4netns is not installed"
command -v rootlesskit >/dev/null 2>&1 || skip "rootlesskit is not installed"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/usernode-up-config.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/config" XDG_RUNTIME_DIR="$WORK/run"
mkdir -p "$HOME" "$XDG_CONFIG_HOME/usernode" "$XDG_RUNTIME_DIR"
chmod 0700 "$XDG_RUNTIME_DIR"
U=$USERNODE
val() { sed -n "s/^$1: //p" "$WORK/out"; }

cat >"$XDG_CONFIG_HOME/usernode/config.yaml" <<'YAML'
# the user's defaults
engine: kubelet
net: slirp4netns
wait: 45
publish: ["127.0.0.1:18080:80"]
cidr: 10.61.0.0/16
nodes:
  n2:
    cluster-cidr: 10.62.0.0/16
    port-driver: slirp4netns
    publish:
      - 18443:443
      - 15353:53/udp
YAML
"$U" up --dry-run >"$WORK/out"
[ "$(val engine)" = kubelet ] || fail "engine from the user's file: $(val engine)"
[ "$(val net)" = slirp4netns ] || fail "net: $(val net)"
[ "$(val wait)" = yes ] && [ "$(val wait-seconds)" = 45 ] || fail "wait: $(val wait) $(val wait-seconds)"
[ "$(val publish)" = "127.0.0.1:18080:80/tcp" ] || fail "publish: $(val publish)"
[ "$(val cidr)" = 10.61.0.0/16 ] || fail "cidr: $(val cidr)"
grep -q -- "--cidr=10.61.0.0/16 " "$WORK/out" || fail "rootlesskit does not get the configured --cidr"
grep -q -- "--net=slirp4netns " "$WORK/out" || fail "rootlesskit does not get --net=slirp4netns"

# The node's section over the top level.
"$U" up --name n2 --dry-run >"$WORK/out"
[ "$(val port-driver)" = slirp4netns ] || fail "n2 port-driver: $(val port-driver)"
[ "$(val cluster-cidr)" = 10.62.0.0/16 ] || fail "n2 cluster-cidr: $(val cluster-cidr)"
grep -q -- "--pod-cidr 10.62.0.0/16 " "$WORK/out" || fail "the init does not get n2's pod CIDR"
[ "$(val publish | tr '\n' ' ')" = "127.0.0.1:18443:443/tcp 127.0.0.1:15353:53/udp " ] || fail "n2 publish: $(val publish)"

# --config FILE after the user's file; flags over both.
printf 'net: auto\nwait: 7\nnodes:\n  n2:\n    port-driver: builtin\n' >"$WORK/extra.yaml"
"$U" up --name n2 --config "$WORK/extra.yaml" --dry-run >"$WORK/out"
[ "$(val wait-seconds)" = 7 ] || fail "--config wait: $(val wait-seconds)"
[ "$(val port-driver)" = builtin ] || fail "--config n2 port-driver: $(val port-driver)"
"$U" up --name n2 --config "$WORK/extra.yaml" --wait=9 --port-driver slirp4netns --net slirp4netns \
        --cluster-cidr 10.63.0.0/16 --publish 127.0.0.1:19000:90 --dry-run >"$WORK/out"
[ "$(val wait-seconds)" = 9 ] || fail "flag --wait=9 lost: $(val wait-seconds)"
[ "$(val port-driver)" = slirp4netns ] || fail "flag --port-driver lost"
[ "$(val cluster-cidr)" = 10.63.0.0/16 ] || fail "flag --cluster-cidr lost"
[ "$(val publish)" = "127.0.0.1:19000:90/tcp" ] || fail "flags' --publish do not replace the file's"

# k3s from the file, joining a server: the init runs `k3s agent` (tests/integration/up-k3s.sh), the token
# never on a command line.
printf 'engine: k3s\nserver: https://192.0.2.10:6443\ntoken: K10abc::server:def\n' >"$WORK/agent.yaml"
# A file holding a token is a secret: refused while others can read it.
chmod 644 "$WORK/agent.yaml"
expect_exit 2 "$U" up --config "$WORK/agent.yaml" --dry-run
chmod 600 "$WORK/agent.yaml"
"$U" up --config "$WORK/agent.yaml" --dry-run >"$WORK/out"
grep -q "^exec: rootlesskit .* __node-init --engine k3s .* --server https://192.0.2.10:6443" "$WORK/out" ||
        fail "k3s agent command: $(grep ^exec "$WORK/out")"
! grep -q "K10abc" "$WORK/out" || fail "the token is on a command line: $(grep ^exec "$WORK/out")"

# Errors: file:line:column, exit 2, nothing started.
bad() {
        printf "$1" >"$WORK/bad.yaml"
        set +e
        "$U" up --config "$WORK/bad.yaml" --dry-run >/dev/null 2>"$WORK/err"
        rc=$?
        set -e
        [ "$rc" = 2 ] || fail "bad config '$1' exited $rc"
        grep -q "$WORK/bad.yaml:$2" "$WORK/err" || fail "bad config '$1': $(cat "$WORK/err")"
}
bad 'engine: docker\n' '1:9: bad value'
bad 'net: kubelet\nnet2: x\n' '2:1: unknown key'
bad 'wait: forever\n' '1:7: bad value'
bad 'nodes:\n  n1:\n    cidr: 10.1.2.3/8\n' '3:11: bad value'
bad 'publish: [80]\n' '1:10: bad value'
bad 'engine: [k3s]\n' '1:9: expected a single value'
bad 'engine: k3s\n  net: x: y\n' ''
expect_exit 2 "$U" up --config "$WORK/no-such.yaml" --dry-run
expect_exit 2 "$U" up --cidr 10.1.2.3/8 --dry-run
expect_exit 2 "$U" up --cluster-cidr nonsense --dry-run
# A network driver and a port driver rootlesskit does not run together: a usage error, whatever is installed.
# up_refused ARGS PATTERN: up ARGS exits 2 and says PATTERN.
up_refused() {
        set +e
        "$U" up --engine kubelet $1 --dry-run >/dev/null 2>"$WORK/err"
        rc=$?
        set -e
        [ "$rc" = 2 ] || fail "up $1 exited $rc"
        grep -q -- "$2" "$WORK/err" || fail "up $1: $(cat "$WORK/err")"
}
up_refused "--net pasta" "only with pasta's own forwarding (--port-driver implicit)"
up_refused "--net pasta --port-driver slirp4netns" "only with pasta's own forwarding"
up_refused "--net slirp4netns --port-driver implicit" "it needs --net pasta"
up_refused "--net lxc-user-nic --port-driver slirp4netns" "needs --net slirp4netns"
up_refused "--net pasta --port-driver implicit --publish 18080:80" "--publish needs a port driver that publishes"
up_refused "--port-driver none" "--port-driver must be builtin, slirp4netns or implicit"
printf 'net: pasta\n' >"$WORK/pasta.yaml"
up_refused "--config $WORK/pasta.yaml" "--net pasta with --port-driver builtin"
# --apiserver-address: one IPv4 address, not the wildcard, of this host, for a node that brings its cluster along.
expect_exit 2 "$U" up --engine kubelet --apiserver-address 999.1.1.1 --dry-run
expect_exit 2 "$U" up --engine kubelet --apiserver-address 0.0.0.0 --dry-run
# 192.0.2.0/24 (TEST-NET-1) is no address of this host, or there is no cluster to publish: refused either way.
expect_exit 2 "$U" up --engine kubelet --apiserver-address 192.0.2.77 --dry-run
[ ! -e "$XDG_RUNTIME_DIR/usernode" ] || [ -z "$(ls -A "$XDG_RUNTIME_DIR/usernode")" ] || fail "dry-run left state"
echo "up-config: ok"
