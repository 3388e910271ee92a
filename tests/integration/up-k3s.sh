#!/bin/sh
# How the k3s engine starts k3s, with the recording stand-in on PATH: k3s server (and k3s agent joining a
# server) as the one daemon of usernode's init in the node's namespaces, its argv and environment compared with
# tests/golden; the API server published on the host's loopback by usernode; an agent's token in a 0600 file,
# never on a command line; refusals before anything starts; `down --purge` leaving nothing. The stand-in serves
# no API, so these nodes never become ready: a real k3s is tests/integration/k3s-real.sh.
. "${top_srcdir:-.}/tests/integration/lib.sh"

for b in jq rootlesskit slirp4netns newuidmap; do
        command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
done
ensure_test_user

WORK=$(mktemp -d /tmp/usernode-up-k3s.XXXXXX)
cleanup() {
        for n in k3s-golden k3s-agent; do
                runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home" \
                        "$USERNODE" down --name "$n" --purge >/dev/null 2>&1 || true
        done
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home"
chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"
chmod 0700 "$WORK/xdg"

cat >"$WORK/as-user.sh" <<EOS
set -eu
. "$top_srcdir/tests/integration/lib.sh"
export XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home"
export PATH="$top_srcdir/tests/stand-ins:\$PATH"
U="$USERNODE"
# until_file FILE: FILE is there and not empty, within 60 s (the init starts k3s a moment after up returns).
until_file() {
        end=\$((\$(date +%s) + 60))
        until [ -s "\$1" ]; do
                [ "\$(date +%s)" -lt "\$end" ] || fail "no \$1 after 60 s: \$(tail -5 "\$XDG_RUNTIME_DIR/usernode/\$2/node.log")"
                sleep 0.1
        done
}
# normalized RECORD: k3s's arguments and the environment usernode gives it. The feature labels are left out:
# whether the checks wrote them before k3s started is a race the wait for the Node settles; an agent's address is
# whichever this host sends from toward the server.
normalized() {
        sed -n -e "s|$WORK|@WORK@|g" -e "/^arg --node-label=/d" -e "s/^arg --node-ip=.*/arg --node-ip=@NODE_IP@/" \
                -e "/^arg /p" -e "/^env _K3S_ROOTLESS_SOCK=/p" -e "/^env HOME=/p" "\$1"
}
failing=\$("\$U" check --engine k3s --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "\$failing" ] || ign="--ignore=\$failing"

export STANDIN_RECORD="\$HOME/k3s.rec"
out=\$("\$U" up --engine k3s --name k3s-golden --json \$ign)
[ "\$(echo "\$out" | jq -r .engine)" = k3s ] || fail "not a k3s node: \$out"
until_file "\$STANDIN_RECORD" k3s-golden
normalized "\$STANDIN_RECORD" >"$WORK/home/k3s.rec.normalized"
# k3s's port controller gets no port API: _K3S_ROOTLESS_SOCK names a file that is no socket.
sock=\$(sed -n 's/^env _K3S_ROOTLESS_SOCK=//p' "\$STANDIN_RECORD")
[ -f "\$sock" ] && [ ! -S "\$sock" ] || fail "_K3S_ROOTLESS_SOCK=\$sock is not a plain file"
# The API server is usernode's to publish, on the host's loopback.
# (status exits 3 while the node is not ready)
st=\$("\$U" status --name k3s-golden --json || :)
[ "\$(echo "\$st" | jq -r '[.ports[] | select(.node_port == 6443) | .host_ip] | join(",")')" = 127.0.0.1 ] ||
        fail "API server not published on 127.0.0.1 only: \$st"
[ "\$(echo "\$st" | jq -r .state)" = starting ] || fail "a stand-in k3s made the node \$(echo "\$st" | jq -r .state)"
"\$U" down --name k3s-golden --purge
grep -q "^signal TERM" "\$STANDIN_RECORD" || fail "k3s was not stopped with SIGTERM: \$(tail -3 "\$STANDIN_RECORD")"
[ ! -e "\$XDG_RUNTIME_DIR/usernode/k3s-golden" ] || fail "state left"
[ ! -e "\$HOME/.local/share/usernode/nodes/k3s-golden" ] || fail "data left"
[ ! -e "\$HOME/.kube" ] || fail "a kubeconfig left: \$(ls -la "\$HOME/.kube")"

# A second machine's node joining the first: k3s agent with --server and the server's token, which reaches k3s
# as a 0600 file of the node's, never on a command line.
export STANDIN_RECORD="\$HOME/k3s-agent.rec"
token='K10'"\$(printf '0123456789abcdef%.0s' 1 2 3 4)"'::server:abc'
printf '%s\n' "\$token" >"\$HOME/token"
chmod 600 "\$HOME/token"
out=\$("\$U" up --engine k3s --name k3s-agent --server https://192.0.2.10:6443 --token-file "\$HOME/token" --json \$ign)
[ "\$(echo "\$out" | jq -r .kubeconfig)" = null ] || fail "an agent has no kubeconfig of its own"
until_file "\$STANDIN_RECORD" k3s-agent
normalized "\$STANDIN_RECORD" >"$WORK/home/k3s-agent.rec.normalized"
! grep -q "server:abc" "\$STANDIN_RECORD" || fail "the token reached k3s's command line or environment"
[ "\$(stat -c %a "\$HOME/.local/share/usernode/nodes/k3s-agent/k3s-token")" = 600 ] || fail "k3s token file not 0600"
"\$U" down --name k3s-agent --purge
[ ! -e "\$XDG_RUNTIME_DIR/usernode/k3s-agent" ] || fail "agent state left"

# A token that does not pin the server's CA is refused before anything starts (k3s would trust anyone).
printf 'abc\n' >"\$HOME/short" && chmod 600 "\$HOME/short"
set +e
"\$U" up --engine k3s --name k3s-short --server https://192.0.2.10:6443 --token-file "\$HOME/short" \$ign 2>"\$HOME/short.err"
rc=\$?
set -e
[ "\$rc" = 2 ] || fail "a short k3s token: exit \$rc: \$(cat "\$HOME/short.err")"
grep -q "does not pin the server's CA" "\$HOME/short.err" || fail "short token: \$(cat "\$HOME/short.err")"
[ ! -e "\$XDG_RUNTIME_DIR/usernode/k3s-short/status.json" ] || fail "a refused k3s agent started"
# A token file others can read is refused, as ssh refuses such a key.
chmod 644 "\$HOME/token"
"\$U" up --engine k3s --name k3s-open --server https://192.0.2.10:6443 --token-file "\$HOME/token" \$ign 2>"\$HOME/open.err" &&
        fail "a 0644 token file was accepted"
grep -q "chmod 600" "\$HOME/open.err" || fail "0644 token file: \$(cat "\$HOME/open.err")"
# Workers are the kubelet engine's.
"\$U" up --engine k3s --name k3s-workers --workers 1 \$ign 2>"\$HOME/workers.err" && fail "k3s with --workers started"
grep -q "only the kubelet engine runs workers" "\$HOME/workers.err" || fail "k3s --workers: \$(cat "\$HOME/workers.err")"
[ ! -e "\$XDG_RUNTIME_DIR/usernode/k3s-workers/status.json" ] || fail "a refused k3s node started"
EOS
runuser -u "$TEST_USER" -- sh "$WORK/as-user.sh"
diff -u "$top_srcdir/tests/golden/k3s-server.rec" "$WORK/home/k3s.rec.normalized" || fail "k3s argv/environment differ from golden"
diff -u "$top_srcdir/tests/golden/k3s-agent.rec" "$WORK/home/k3s-agent.rec.normalized" ||
        fail "k3s agent argv/environment differ from golden"
echo "up-k3s: ok"
