#!/bin/sh
# A node that heals (issue "A node that heals"), as an ordinary user with Debian's containerd and the
# stand-in kubelet: once the node is ready, its kubelet and its containerd killed with SIGKILL are started
# again (status: running, one restart each, a new pid) and the node stays running; a kubelet whose binary
# now exits at once is started again with back-off until the start limit, then the node is degraded, and
# status (text, JSON, exit 1) names the daemon and its last error line; down --purge leaves nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root to create the test user and make /dev/net/tun usable"
for b in rootlesskit slirp4netns containerd ctr newuidmap jq; do
        command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
done
[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
ensure_test_user

WORK=$(mktemp -d /tmp/usernode-heal.XXXXXX)
cleanup() {
        runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home" \
                "$USERNODE" down --name heal --purge >/dev/null 2>&1 || true
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home" "$WORK/bin"
# The kubelet the node runs, from a directory of the user's: replaced below by one that cannot start.
cp "$top_srcdir/tests/stand-ins/kubelet" "$WORK/bin/kubelet"
cp "$top_srcdir/tests/stand-ins/standin-lib.sh" "$WORK/bin/" 2>/dev/null || :
chown -R "$TEST_USER:" "$WORK/xdg" "$WORK/home" "$WORK/bin"
chmod 0700 "$WORK/xdg"

cat >"$WORK/as-user.sh" <<EOF
set -eu
. "$top_srcdir/tests/integration/lib.sh"
export XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home"
export PATH="$WORK/bin:$top_srcdir/tests/stand-ins:\$PATH" STANDIN_RECORD="$WORK/home/kubelet.rec"
U="$USERNODE"
st() { "\$U" status --name heal --json; }
# until SECONDS JQ: polls the node's status (10 times a second) until the jq expression holds; fails past SECONDS.
until_status() {
        end=\$((\$(date +%s) + \$1))
        until st | jq -e "\$2" >/dev/null 2>&1; do
                [ "\$(date +%s)" -lt "\$end" ] || fail "not within \$1 s: \$2; status: \$(st)"
                sleep 0.1
        done
}
failing=\$("\$U" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "\$failing" ] || ign="--ignore=\$failing"
"\$U" up --engine kubelet --name heal --wait=60 \$ign >/dev/null

# Ready: the daemons it runs are watched.
until_status 10 '.daemons | map(select(.state == "running" and .restarts == 0) | .name) | (index("kubelet") and index("containerd"))'

# The kubelet killed: started again, the node running.
kubelet=\$(st | jq -r .pids.engine)
kill -9 "\$kubelet"
until_status 30 ".daemons[] | select(.name == \"kubelet\") | .state == \"running\" and .restarts == 1"
until_status 10 ".pids.engine != \$kubelet and .pids.engine > 0"
[ "\$(st | jq -r .state)" = running ] || fail "the node is not running after its kubelet's restart: \$(st)"
st | jq -e '.daemons[] | select(.name == "kubelet") | .last_error | test("exited with status 137")' >/dev/null ||
        fail "the kubelet's end is not told: \$(st)"

# containerd killed: started again, and it answers.
containerd=\$(st | jq -r .pids.containerd)
kill -9 "\$containerd"
until_status 30 ".daemons[] | select(.name == \"containerd\") | .state == \"running\" and .restarts == 1"
"\$U" exec --name heal -- ctr version >/dev/null || fail "the restarted containerd does not answer"
"\$U" status --name heal >/dev/null || fail "status exits non-zero for a healed node"

# A kubelet that cannot start any more: back-off, the start limit, the node degraded with the daemon's last error.
printf '#!/bin/sh\necho "E1207 12:00:00.000000       1 server.go:1] boom: this kubelet cannot start" >&2\nexit 3\n' \
        >"$WORK/bin/kubelet.new"
chmod 0755 "$WORK/bin/kubelet.new"
mv -f "$WORK/bin/kubelet.new" "$WORK/bin/kubelet"
kill -9 "\$(st | jq -r .pids.engine)"
until_status 60 '.state == "degraded"'
st | jq -e '.daemons[] | select(.name == "kubelet") | .state == "failed" and .restarts >= 4' >/dev/null ||
        fail "the kubelet is not failed after its restarts: \$(st)"
st | jq -e '.daemons[] | select(.name == "kubelet") | .last_error | test("status 3: E1207 .*boom: this kubelet cannot start")' \
        >/dev/null || fail "the kubelet's last error is not its log's: \$(st)"
st | jq -e '.last_error | test("kubelet keeps dying")' >/dev/null || fail "the node's last error does not say why: \$(st)"
set +e
"\$U" status --name heal >"\$HOME/status.txt"
rc=\$?
set -e
cat "\$HOME/status.txt"
[ "\$rc" = 1 ] || fail "status of a degraded node exited \$rc"
grep -Eq '^state: +degraded' "\$HOME/status.txt" || fail "status does not say degraded"
grep -Eq '^daemon: +kubelet +failed' "\$HOME/status.txt" || fail "status does not name the failed kubelet"
[ "\$(st | jq -r '.daemons[] | select(.name == "containerd") | .state')" = running ] || fail "containerd stopped with it"

"\$U" down --name heal --purge
[ ! -e "$WORK/xdg/usernode/heal" ] || fail "down --purge left the node's runtime directory"
# Only this test's processes (its XDG_RUNTIME_DIR; other tests run nodes as the same user), zombies aside: the
# host's PID 1 reaps orphans slowly here. The list is taken whole first: the awk filtering it, a process of this
# user with this environment, would otherwise be in it.
procs=\$(ps -u "\$(id -u)" -o stat=,pid=)
left=\$(printf '%s\\n' "\$procs" | awk '\$1 !~ /^Z/ { print \$2 }' |
        while read -r p; do
                [ "\$p" != \$\$ ] && grep -qxzF "XDG_RUNTIME_DIR=$WORK/xdg" "/proc/\$p/environ" 2>/dev/null && echo "\$p"
        done || true)
[ -z "\$left" ] || fail "processes left: \$left"
EOF
chmod 0755 "$WORK/as-user.sh"
runuser -u "$TEST_USER" -- sh "$WORK/as-user.sh"
echo "heal: ok"
