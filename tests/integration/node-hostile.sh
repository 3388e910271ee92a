#!/bin/bash
# A node's state against other local users and against its own pods (issue "Hardening, round two", 1-2):
# another user's /tmp/usernode-UID with a planted status.json naming a process of ours is refused, and
# nothing of ours is signalled; a purge racing a directory/symlink swap deletes nothing of the user's
# outside the node; a tree nested deeper than PATH_MAX is purged; a supervisor killed with SIGKILL leaves
# no node running, and down --purge after it leaves nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"
set -o pipefail

[ "$(id -u)" -eq 0 ] || skip "needs root to create the test users"
for b in python3 flock setpriv; do command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"; done
ensure_test_user
ATTACKER=usernode-attacker
id "$ATTACKER" >/dev/null 2>&1 || useradd -m "$ATTACKER" 2>/dev/null || skip "cannot create $ATTACKER"
uid=$(id -u "$TEST_USER")

WORK=$(mktemp -d /tmp/usernode-node-hostile.XXXXXX)
planted=/tmp/usernode-$uid
cleanup() {
        [ -z "${victim_pid:-}" ] || kill "$victim_pid" 2>/dev/null || :
        [ -z "${holder_pid:-}" ] || kill "$holder_pid" 2>/dev/null || :
        rm -rf "$planted" "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/home"
chown "$TEST_USER:" "$WORK/home"

# as_user CMD...: the test user without XDG_RUNTIME_DIR (a CI job's environment: the /tmp fallback).
as_user() {
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                HOME="$WORK/home" USERNODE_TEMPLATE_DIR="${USERNODE_TEMPLATE_DIR:-}" "$@"
}

# 1. Another user makes /tmp/usernode-UID first and plants a node whose status names a process of ours,
# holding its lock. Our down, status and up refuse it and signal nothing.
rm -rf "$planted"
# Started directly, not through the as_user function: $! is then sleep's own PID (setpriv and env exec).
setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sleep 600 &
victim_pid=$!
setpriv --reuid="$ATTACKER" --regid="$ATTACKER" --init-groups sh -c "
        umask 022; mkdir -p '$planted/default'
        printf '{\"schema\":\"usernode.node/v1\",\"name\":\"default\",\"engine\":\"kubelet\",\"state\":\"running\",\"pids\":{\"supervisor\":$victim_pid}}\n' >'$planted/default/status.json'
        : >'$planted/default/lock'"
# --no-fork: flock becomes sleep, so that killing it leaves nothing behind.
setpriv --reuid="$ATTACKER" --regid="$ATTACKER" --init-groups flock --no-fork "$planted/default/lock" sleep 600 &
holder_pid=$!
# The holder has the lock once flock runs its command.
retry_until() { for _ in $(seq 1 100); do "$@" && return 0; sleep 0.05; done; return 1; }
retry_until pgrep -u "$ATTACKER" -x sleep >/dev/null || fail "the attacker's lock holder did not start"
for verb in down status up; do
        set +e
        as_user "$USERNODE" "$verb" >"$WORK/out" 2>"$WORK/err"
        rc=$?
        set -e
        [ "$rc" -ne 0 ] || fail "$verb accepted another user's $planted: $(cat "$WORK/out")"
        grep -q "belongs to UID $(id -u "$ATTACKER"), not to you" "$WORK/err" || fail "$verb: unclear: $(cat "$WORK/err")"
done
kill -0 "$victim_pid" || fail "our process named in the planted status.json was signalled"
kill "$holder_pid"
wait "$holder_pid" 2>/dev/null || :
holder_pid=
rm -rf "$planted"

# The purge tests use the user's own runtime directory.
export XDG_RUNTIME_DIR_T=$WORK/xdg
mkdir -p "$WORK/xdg" && chown "$TEST_USER:" "$WORK/xdg" && chmod 0700 "$WORK/xdg"
as_xdg() { as_user XDG_RUNTIME_DIR="$WORK/xdg" "$@"; }
# a stopped node named $1 whose data dir the test fills: what `up` leaves after `down`.
stopped_node() {
        as_xdg sh -c "mkdir -p \"\$XDG_RUNTIME_DIR/usernode/$1\" \"\$HOME/.local/share/usernode/nodes/$1\" &&
                chmod 0700 \"\$XDG_RUNTIME_DIR/usernode\" \"\$XDG_RUNTIME_DIR/usernode/$1\""
        echo "$WORK/home/.local/share/usernode/nodes/$1"
}

# 2a. A pod (here: a process of the user's) swaps a directory of the node with a symlink to the user's
# files while the purge runs: nothing outside the node goes.
data=$(stopped_node race)
as_xdg sh -c "mkdir -p '$data/sw' \"\$HOME/precious\" && cd \"\$HOME/precious\" && i=0 &&
        while [ \$i -lt 2000 ]; do : >f\$i; i=\$((i + 1)); done && cp -r \"\$HOME/precious/.\" '$data/sw/' &&
        ln -s \"\$HOME/precious\" '$data/lnk'"
as_xdg python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
open(sys.argv[3], "w").close()
while os.path.lexists(sys.argv[1]) and os.path.lexists(sys.argv[2]):
    libc.syscall(316, -100, a, -100, b, 2)  # renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
' "$data/sw" "$data/lnk" "$WORK/home/racing" &
racer=$!
retry_until test -e "$WORK/home/racing" || fail "the racer did not start"
as_xdg "$USERNODE" down --name race --purge >/dev/null 2>"$WORK/err" || :
kill "$racer" 2>/dev/null || :
wait "$racer" 2>/dev/null || :
left=$(find "$WORK/home/precious" -type f | wc -l)
[ "$left" -eq 2000 ] || fail "the purge deleted $((2000 - left)) of the user's 2000 files through a swapped symlink"
as_xdg "$USERNODE" down --name race --purge >/dev/null 2>&1 || :

# 2b. A tree nested deeper than PATH_MAX (what a pod can make in an emptyDir) is purged.
data=$(stopped_node deep)
as_xdg python3 -c '
import os, sys
os.chdir(sys.argv[1])
for _ in range(3000):
    os.mkdir("d"); os.chdir("d")
open("leaf", "w").close()
' "$data"
as_xdg "$USERNODE" down --name deep --purge >/dev/null 2>"$WORK/err" || fail "purge of a deep tree: $(cat "$WORK/err")"
[ ! -e "$data" ] || fail "a tree deeper than PATH_MAX survived the purge"

# 2c. The supervisor killed with SIGKILL: the node's processes go with it, down --purge leaves nothing.
for b in rootlesskit slirp4netns containerd newuidmap jq; do
        command -v "$b" >/dev/null 2>&1 || { echo "node-hostile: $b missing: the running part is skipped"; exit 0; }
done
as_xdg sh -c "export PATH=\"$top_srcdir/tests/stand-ins:\$PATH\"
        failing=\$(\"$USERNODE\" check --engine kubelet --json | jq -r '[.checks[] | select(.status==\"fail\") | .id] | join(\",\")')
        \"$USERNODE\" up --engine kubelet --name killed --wait=60 --json \${failing:+--ignore=\$failing} >'$WORK/home/up.json'" ||
        fail "up: $(cat "$WORK/home/up.json")"
chmod a+r "$WORK/home/up.json"
sup=$(jq -r .pids.supervisor "$WORK/home/up.json")
kill -KILL "$sup"
as_xdg "$USERNODE" down --name killed --purge >"$WORK/out" 2>&1 || fail "down --purge after SIGKILL: $(cat "$WORK/out")"
left=$(ps -u "$TEST_USER" -o stat=,pid=,args= | awk '$1 !~ /^Z/' | grep -F "$WORK/xdg" || :)
[ -z "$left" ] || fail "processes of the killed node left: $left"
[ ! -e "$WORK/xdg/usernode/killed" ] || fail "state of the killed node left"
echo "node-hostile: ok"
