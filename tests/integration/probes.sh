#!/bin/sh
# The live user-namespace probes, for real, as an ordinary user: `usernode check --json` must say
# that user namespaces and overlayfs work here because it tried them (DESIGN.md "live probe").
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v python3 >/dev/null || skip "python3 is needed to read the JSON report"
if [ "$(id -u)" -eq 0 ]; then
        ensure_test_user
        test_user=$TEST_USER
        as_user() { as_test_user "$@"; }
else
        test_user=$(id -un)
        as_user() { "$@"; }
fi

as_user unshare --user true 2>/dev/null || skip "$test_user cannot create user namespaces on this host"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work"
reachable_copy "$work"

# check exits 1 when some other check fails on this host (cgroup v1 here); 2 and 3 are errors.
set +e
as_user "$USERNODE" check --json >"$work/report.json" 2>"$work/stderr"
rc=$?
set -e
[ "$rc" -le 1 ] || fail "usernode check exited $rc: $(cat "$work/stderr")"

# field ID KEY: a check's "status", "detail" or "fix" from the report.
field() {
        python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == sys.argv[2]]
print(c[0][sys.argv[3]] if c else "MISSING")' "$work/report.json" "$1" "$2"
}

[ "$(field userns.enabled status)" = pass ] || fail "userns.enabled: $(field userns.enabled detail)"
case $(field userns.enabled detail) in
*"probed: unshare(CLONE_NEWUSER) as $test_user succeeded"*) ;;
*) fail "userns.enabled was not probed as $test_user: $(field userns.enabled detail)" ;;
esac
[ "$(field userns.apparmor status)" != MISSING ] || fail "no userns.apparmor in the report"

release=$(uname -r)
major=${release%%.*}
minor=${release#*.}
minor=${minor%%[!0-9]*}
if [ "$major" -gt 5 ] || { [ "$major" -eq 5 ] && [ "$minor" -ge 11 ]; }; then
        [ "$(field fs.overlay status)" = pass ] || fail "fs.overlay: $(field fs.overlay detail)"
        case $(field fs.overlay detail) in
        "probed as $test_user: overlayfs mounted in a user namespace") ;;
        *) fail "fs.overlay was not probed: $(field fs.overlay detail)" ;;
        esac
fi

# --no-probes: the same checks, from configuration only, and saying so.
set +e
as_user "$USERNODE" check --json --no-probes >"$work/report.json" 2>"$work/stderr"
rc=$?
set -e
[ "$rc" -le 1 ] || fail "usernode check --no-probes exited $rc: $(cat "$work/stderr")"
case $(field userns.enabled detail) in
*"not probed: --no-probes"*) ;;
*) fail "userns.enabled under --no-probes: $(field userns.enabled detail)" ;;
esac
case $(field fs.overlay detail) in
*"not probed: --no-probes"*) ;;
*) fail "fs.overlay under --no-probes: $(field fs.overlay detail)" ;;
esac

# The full sub-ID map through newuidmap/newgidmap, as root for the user and as the user, from the
# probe's own unit test (the command line fills the ranges once subid.c does).
unit=${top_builddir:-.}/tests/unit/test-usernode
if [ -x "$unit" ] && command -v newuidmap >/dev/null; then
        USERNODE_PROBE_TEST_USER=$test_user CK_RUN_SUITE=probe CK_VERBOSITY=verbose "$unit" >"$work/unit.log" 2>&1 ||
                fail "probe unit tests with $test_user: $(cat "$work/unit.log")"
        grep -q "for $test_user with the full map" "$work/unit.log" || fail "the full-map probe did not run"
        grep "ms$" "$work/unit.log" || :
fi

# Wall time of the whole check with its probes, as the user (DESIGN.md target: <= 50 ms median).
: >"$work/times"
for _ in 1 2 3 4 5 6 7 8 9 10 11; do
        s=$(date +%s%N)
        as_user "$USERNODE" check >/dev/null 2>&1 || :
        e=$(date +%s%N)
        echo $(( (e - s) / 1000 )) >>"$work/times"
done
echo "usernode check as $test_user (setpriv included), median of 11: $(sort -n "$work/times" | sed -n 6p) us"
echo "probes: ok"
