#!/bin/bash
# Issue 23: `check` run live (not --root) inside a container-like environment made here (its own PID, mount
# and cgroup namespaces, a cgroup2 mount of its own at /sys/fs/cgroup, PID 1 a shell, no systemd, an empty
# /run) says what a CI job needs: cgroup.delegation names the job's cgroup and gives the container's recipe
# (or, where the hierarchy lacks controllers, says no cgroup here can have them), systemd.user speaks of CI
# mode and no fix anywhere talks of linger or user units. Then, as root in the job, the recipe is run and
# check, again as the user, places the node in the cgroup the user now owns.
. "${top_srcdir:-.}/tests/integration/lib.sh"

# Not usernode-test: other suites use it concurrently.
TEST_USER=usernode-citest

[ "$(id -u)" -eq 0 ] || skip "needs root to make namespaces, a cgroup and $TEST_USER"
for t in unshare setpriv jq; do
        command -v "$t" >/dev/null || skip "$t is not installed"
done
ensure_test_user
work=$(mktemp -d)
cg=
cleanup() {
        # The job's PID namespace ended with its PID 1: its cgroups are empty.
        [ -z "$cg" ] || [ ! -d "$cg" ] || find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || :
        rm -rf "$work"
}
trap cleanup EXIT
reachable_copy "$work"

# The host's cgroup2 mount (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one).
host_cg=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
        /proc/self/mountinfo)
[ -n "$host_cg" ] || skip "no cgroup2 hierarchy is mounted here: a cgroup namespace would have none to show"
# The job's cgroup, as a container runtime makes one: the root of the job's cgroup namespace, with only the
# job's processes in it (the recipe moves every process it sees there).
cg=$host_cg/usernode-citest.$$
mkdir "$cg" 2>/dev/null || { cg=; skip "cannot make a cgroup in $host_cg (read-only or not delegated to root here)"; }

# PID 1 of the job: moves itself into the job's cgroup, then becomes the shell that runs the job in a cgroup
# namespace rooted there.
cat >"$work/pid1.sh" <<'EOF'
set -eu
echo $$ >"$1/cgroup.procs"
exec unshare --cgroup sh "$2/job.sh" "$2"
EOF
cat >"$work/job.sh" <<'EOF'
set -eu
work=$1
umount -R /sys/fs/cgroup 2>/dev/null || :
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>"$work/mount.err" || { echo "mount cgroup2: $(cat "$work/mount.err")" >"$work/skip"; exit 77; }
mount -t tmpfs -o mode=0755 tmpfs /run 2>"$work/mount.err" || { echo "mount tmpfs on /run: $(cat "$work/mount.err")" >"$work/skip"; exit 77; }
cat /proc/1/comm >"$work/pid1.comm"
cat /sys/fs/cgroup/cgroup.controllers >"$work/root.controllers"
as_user() {
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups \
                env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME_DIR" USER="$TEST_USER" LOGNAME="$TEST_USER" "$@"
}
rc=0
as_user "$USERNODE" check --json >"$work/before.json" 2>"$work/before.err" || rc=$?
echo "$rc" >"$work/before.rc"
# The recipe: what the fix tells root to run in the job, or, where this hierarchy lacks the controllers (the
# fix then says no cgroup here can have them), its steps without enabling them.
fix=$(jq -r '.checks[] | select(.id == "cgroup.delegation") | .fix // ""' "$work/before.json")
case $fix in
"give the job a cgroup namespace of its own"*"before \`usernode up\`: "*)
        recipe=${fix#*before \`usernode up\`: } ;;
*)
        recipe="mkdir -p /sys/fs/cgroup/job/shell && while read p; do echo \$p > /sys/fs/cgroup/job/shell/cgroup.procs || [ ! -d /proc/\$p ]; done < /sys/fs/cgroup/cgroup.procs && cd /sys/fs/cgroup/job && chown $TEST_USER . cgroup.procs cgroup.subtree_control cgroup.threads" ;;
esac
printf '%s\n' "$recipe" >"$work/recipe"
rc=0
sh -c "$recipe" >"$work/recipe.out" 2>&1 || rc=$?
echo "$rc" >"$work/recipe.rc"
cat /proc/self/cgroup >"$work/after.cgroup"
rc=0
as_user "$USERNODE" check --json >"$work/after.json" 2>"$work/after.err" || rc=$?
echo "$rc" >"$work/after.rc"
EOF

set +e
TEST_USER=$TEST_USER USERNODE=$USERNODE HOME_DIR=$(getent passwd "$TEST_USER" | cut -d: -f6) \
        unshare --pid --fork --mount --mount-proc sh "$work/pid1.sh" "$cg" "$work" >"$work/job.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 77 ] || skip "$(cat "$work/skip" 2>/dev/null || echo "the job's namespaces could not be made")"
[ "$rc" -eq 0 ] || { grep -q "unshare failed" "$work/job.out" && skip "unshare: $(cat "$work/job.out")"; fail "the job exited $rc: $(cat "$work/job.out")"; }

# The environment is what a CI job has.
[ "$(cat "$work/pid1.comm")" = sh ] || fail "PID 1 in the job is '$(cat "$work/pid1.comm")', not sh"

# check_line FILE ID: that check's "STATUS<TAB>DETAIL<TAB>FIX" (fix empty when null).
check_line() {
        jq -r --arg id "$2" '.checks[] | select(.id == $id) | [.status, .detail, (.fix // "")] | @tsv' "$1"
}
expect_in() { case $2 in *"$3"*) ;; *) fail "$1 lacks '$3': $2" ;; esac; }
expect_not_in() { case $2 in *"$3"*) fail "$1 has '$3': $2" ;; esac; }

[ "$(cat "$work/before.rc")" -eq 1 ] || fail "check in the job exited $(cat "$work/before.rc"), not 1 (not ready): $(cat "$work/before.err")"
read -r root_controllers <"$work/root.controllers" || root_controllers=
missing=
for want in cpu cpuset io memory pids; do
        case " $root_controllers " in *" $want "*) ;; *) missing="$missing${missing:+ }$want" ;; esac
done

v2=$(check_line "$work/before.json" cgroup.v2)
expect_in cgroup.v2 "$v2" "pass	cgroup v2 (unified) at /sys/fs/cgroup"

before=$(check_line "$work/before.json" cgroup.delegation)
expect_in cgroup.delegation "$before" "fail	PID 1 is 'sh', no systemd: no user@.service (CI mode); $TEST_USER's cgroup / is not delegated: $TEST_USER runs in the root of the cgroup tree it sees"
if [ -z "$missing" ]; then
        expect_in cgroup.delegation "$before" "give the job a cgroup namespace of its own with a writable cgroup2 mount"
        expect_in cgroup.delegation "$before" "chown $TEST_USER . cgroup.procs"
else
        # Here (a hybrid host: cgroup v1 holds the controllers) making the job's cgroup cannot give them.
        expect_in cgroup.delegation "$before" "$missing: in no cgroup of this cgroup2 hierarchy"
        expect_in cgroup.delegation "$before" "no cgroup made in this job can have $missing: run the job where its cgroup2 hierarchy has them"
fi

user=$(check_line "$work/before.json" systemd.user)
expect_in systemd.user "$user" "warn	PID 1 is 'sh', not systemd (no /run/systemd/system): no user manager for $TEST_USER can exist, linger does not apply; \`usernode up\` supervises the node itself (CI mode), no user units	"
[ "${user##*	}" = "" ] || fail "systemd.user has a fix where no user manager can exist: $user"

fixes=$(jq -r '.checks[] | .fix // empty' "$work/before.json")
for word in linger loginctl systemctl user@; do
        expect_not_in "a fix in the job" "$fixes" "$word"
done

# After the recipe: the job's processes in /job/shell, /job the user's.
[ "$(cat "$work/recipe.rc")" -eq 0 ] || fail "the recipe '$(cat "$work/recipe")' failed: $(cat "$work/recipe.out")"
expect_in "the job's cgroup after the recipe" "$(cat "$work/after.cgroup")" "0::/job/shell"
after=$(check_line "$work/after.json" cgroup.delegation)
if [ -z "$missing" ]; then
        expect_in cgroup.delegation "$after" "pass	PID 1 is 'sh', no systemd: no user@.service (CI mode); \`usernode up\` makes the node's cgroup in /job, which $TEST_USER owns; controllers there: "
else
        expect_in cgroup.delegation "$after" "fail	PID 1 is 'sh', no systemd: no user@.service (CI mode); \`usernode up\` makes the node's cgroup in /job, which $TEST_USER owns; controllers there: "
        expect_in cgroup.delegation "$after" "missing: $missing; $missing: in no cgroup of this cgroup2 hierarchy"
fi
echo "ci-container: ok (root controllers in the job: ${root_controllers:-none})"
