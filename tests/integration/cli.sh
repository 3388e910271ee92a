#!/bin/sh
# The command line contract: verbs, --help, --version, exit codes for usage errors.
. "${top_srcdir:-.}/tests/integration/lib.sh"

out=$("$USERNODE" --version)
case $out in "usernode "[0-9]*) ;; *) fail "--version printed '$out'" ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/usernode-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Into files, then grep: "usernode --help | grep -q" fails under pipefail when grep's early exit
# breaks the writer's pipe.
"$USERNODE" --help >"$work/help"
grep -q '^  check ' "$work/help" || fail "--help does not list check"
"$USERNODE" check --help >"$work/check-help"
grep -q -- '--ignore' "$work/check-help" || fail "check --help does not list --ignore"
"$USERNODE" --help check >/dev/null

expect_exit 2 "$USERNODE"
expect_exit 2 "$USERNODE" frobnicate
expect_exit 2 "$USERNODE" check --no-such-option
expect_exit 2 "$USERNODE" check --engine docker
expect_exit 2 "$USERNODE" check --ignore 'bad id!'
expect_exit 2 "$USERNODE" check --root /nonexistent/dir
expect_exit 2 "$USERNODE" check --user 'no:such:user'
expect_exit 2 "$USERNODE" check --user nosuchuser12345
expect_exit 2 "$USERNODE" check extra-argument
expect_exit 2 "$USERNODE" check --ignore no.such.check --no-probes

# check --list-ids: the IDs from the program's own tables, "check ID" or "feature ID" a line.
"$USERNODE" check --list-ids >"$work/ids"
for want in "check kernel.version" "check cgroup.controller.memory" "check kmod.overlay" "check limits.inotify" \
        "feature pods" "feature devices"; do
        grep -qxF "$want" "$work/ids" || fail "check --list-ids lacks '$want'"
done
[ "$(grep -c '^feature ' "$work/ids")" -eq 26 ] || fail "check --list-ids lists $(grep -c '^feature ' "$work/ids") features, not 26"
! grep -v '^\(check\|feature\) [a-z][a-z0-9._-]*$' "$work/ids" || fail "check --list-ids printed the lines above"
expect_exit 2 "$USERNODE" check --list-ids --json
expect_exit 2 "$USERNODE" check --list-ids --root /
expect_exit 2 "$USERNODE" status --list-ids
# The live report: valid JSON with every check ID of DESIGN.md's table and every feature.
if command -v python3 >/dev/null; then
        set +e
        "$USERNODE" check --json > "$work/report.json"
        rc=$?
        set -e
        [ "$rc" -le 1 ] || fail "check --json exited $rc"
        python3 - "$work/report.json" "$work/ids" <<'PY' || fail "check --json misses IDs"
import json, sys
d = json.load(open(sys.argv[1]))
listed = [line.split() for line in open(sys.argv[2])]
assert d["schema"] == "usernode.report/v1" and isinstance(d["ready"], bool)
ids = {c["id"] for c in d["checks"]}
want = """kernel.version userns.enabled userns.apparmor cgroup.v2 cgroup.delegation subid.uid subid.gid
subid.tools systemd.user net.tun net.driver net.cidr net.dns net.ports sysctl.ip_forward
sysctl.ping_group_range sysctl.unprivileged_port_start fs.overlay engine.k3s engine.kubelet
limits.nofile limits.inotify""".split()
missing = [i for i in want if i not in ids]
assert not missing, missing
assert any(i.startswith("kmod.") for i in ids)
assert len(d["features"]) == 26, len(d["features"])
unlisted = ids - {i for kind, i in listed if kind == "check"}
assert not unlisted, ("not in --list-ids", unlisted)
assert [f["id"] for f in d["features"]] == [i for kind, i in listed if kind == "feature"]
for c in d["checks"]:
    assert c["status"] in ("pass", "warn", "fail", "skip") and (c["status"] != "pass" or c["fix"] is None)
PY
fi
echo "cli: ok"
