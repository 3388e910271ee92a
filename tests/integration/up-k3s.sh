#!/bin/sh
# The k3s engine against its documented command line, with the recording stand-in on PATH:
# argv and K3S_ROOTLESS_* environment compared with tests/golden, the kubeconfig copied to its
# stable path, `down --purge` leaving nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v jq >/dev/null 2>&1 || skip "jq is not installed"
command -v systemd-notify >/dev/null 2>&1 || skip "systemd-notify is not installed (the stand-in uses it)"
ensure_test_user

WORK=$(mktemp -d /tmp/usernode-up-k3s.XXXXXX)
cleanup() {
        runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home" \
                "$USERNODE" down --name k3s-golden --purge >/dev/null 2>&1 || true
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
export PATH="$top_srcdir/tests/stand-ins:\$PATH" STANDIN_RECORD="$WORK/home/k3s.rec"
U="$USERNODE"
failing=\$("\$U" check --engine k3s --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "\$failing" ] || ign="--ignore=\$failing"
# --publish cannot work beside k3s's own port controller: refused, with why, before anything is made.
if "\$U" up --engine k3s --name k3s-golden --publish 127.0.0.1:18080:80 \$ign >"\$HOME/publish.out" 2>&1; then
        fail "up --engine k3s --publish was accepted"
fi
grep -q "publish does nothing with --engine k3s: k3s's rootless port controller" "\$HOME/publish.out" ||
        fail "no reason for refusing --publish: \$(cat "\$HOME/publish.out")"
[ ! -e "\$XDG_RUNTIME_DIR/usernode/k3s-golden" ] || fail "a refused up made the node's directory"
out=\$("\$U" up --engine k3s --name k3s-golden --wait=30 --json \$ign)
[ "\$(echo "\$out" | jq -r .state)" = running ] || fail "k3s node not running: \$out"
kc=\$(echo "\$out" | jq -r .kubeconfig)
[ "\$kc" = "\$HOME/.kube/usernode-k3s-golden.yaml" ] || fail "kubeconfig at '\$kc'"
grep -q 'server: https://127.0.0.1:6443' "\$kc" || fail "kubeconfig not copied"
sed -n -e "s|$WORK|@WORK@|g" -e "/^arg /p" -e "/^env K3S_/p" -e "s/^env NOTIFY_SOCKET=.*/env NOTIFY_SOCKET set/p" "\$HOME/k3s.rec" >"$WORK/home/k3s.rec.normalized"
"\$U" down --name k3s-golden --purge
[ ! -e "\$XDG_RUNTIME_DIR/usernode/k3s-golden" ] || fail "state left"
[ ! -e "\$HOME/.local/share/usernode/nodes/k3s-golden" ] || fail "data left"
[ ! -e "\$kc" ] || fail "kubeconfig left after purge"

# A second machine's node joining the first: `k3s agent --rootless` with --server and the server's token,
# which reaches k3s as a 0600 file of the node's, never on a command line.
export STANDIN_RECORD="$WORK/home/k3s-agent.rec"
printf '%s\n' 'K10'"\$(printf '0123456789abcdef%.0s' 1 2 3 4)"'::server:abc' >"\$HOME/token"
chmod 600 "\$HOME/token"
out=\$("\$U" up --engine k3s --name k3s-agent --server https://192.0.2.10:6443 --token-file "\$HOME/token" \
        --wait=30 --json \$ign)
[ "\$(echo "\$out" | jq -r .state)" = running ] || fail "k3s agent node not running: \$out"
[ "\$(echo "\$out" | jq -r .kubeconfig)" = null ] || fail "an agent has no kubeconfig of its own"
sed -n -e "s|$WORK|@WORK@|g" -e "/^arg /p" -e "/^env K3S_/p" -e "s/^env NOTIFY_SOCKET=.*/env NOTIFY_SOCKET set/p" "\$HOME/k3s-agent.rec" >"$WORK/home/k3s-agent.rec.normalized"
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
# k3s's rootlesskit drives slirp4netns only: another --net is refused before anything starts.
"\$U" up --engine k3s --name k3s-pasta --net pasta \$ign 2>"\$HOME/pasta.err" && fail "k3s with --net pasta started"
grep -q "only drives slirp4netns" "\$HOME/pasta.err" || fail "k3s --net pasta: \$(cat "\$HOME/pasta.err")"
EOS
runuser -u "$TEST_USER" -- sh "$WORK/as-user.sh"
diff -u "$top_srcdir/tests/golden/k3s-server.rec" "$WORK/home/k3s.rec.normalized" || fail "k3s argv/environment differ from golden"
diff -u "$top_srcdir/tests/golden/k3s-agent.rec" "$WORK/home/k3s-agent.rec.normalized" ||
        fail "k3s agent argv/environment differ from golden"
echo "up-k3s: ok"
