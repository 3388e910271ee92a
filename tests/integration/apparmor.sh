#!/bin/sh
# userns.apparmor, userns.enabled and fs.overlay on an offline Ubuntu 24.04-like tree (--root): the
# fix usernode prints, applied as printed, must turn the check green.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v python3 >/dev/null || skip "python3 is needed to read the JSON report"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/etc/apparmor.d/disable" "$root/proc/sys/kernel" "$root/proc/sys/user" "$root/usr/bin"
printf 'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n' >"$root/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n' >"$root/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\n' >"$root/etc/group"
echo 6.8.0-31-generic >"$root/proc/sys/kernel/osrelease"
echo 63000 >"$root/proc/sys/user/max_user_namespaces"
echo 1 >"$root/proc/sys/kernel/unprivileged_userns_clone"
echo 1 >"$root/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
printf '#!/bin/sh\n' >"$root/usr/bin/rootlesskit"
chmod 0755 "$root/usr/bin/rootlesskit"

run() {
        set +e
        "$USERNODE" check --root "$root" --user alice --engine kubelet --json "$@" >"$work/report.json" 2>"$work/stderr"
        rc=$?
        set -e
        [ "$rc" -le 1 ] || fail "usernode check exited $rc: $(cat "$work/stderr")"
}

field() {
        python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
c = [c for c in r["checks"] if c["id"] == sys.argv[2]]
v = c[0][sys.argv[3]] if c else "MISSING"
print("" if v is None else v)' "$work/report.json" "$1" "$2"
}

expect() {      # expect ID STATUS [TEXT-IN-DETAIL]
        got=$(field "$1" status)
        [ "$got" = "$2" ] || fail "$1 is $got, expected $2: $(field "$1" detail)"
        if [ $# -ge 3 ]; then
                case $(field "$1" detail) in *"$3"*) ;; *) fail "$1 detail lacks '$3': $(field "$1" detail)" ;; esac
        fi
}

# Restricted, and no profile for rootlesskit: fail, with the profile as the fix. Under --root the file
# goes into the tree and that host loads it at boot: apparmor_parser here would load it into this
# host's kernel, so it is only said for that host.
run
expect userns.apparmor fail "no profile in /etc/apparmor.d allows userns for /usr/bin/rootlesskit"
field userns.apparmor fix >"$work/fix"
grep -q "^sudo tee $root/etc/apparmor.d/usernode-rootlesskit >/dev/null <<'EOF'\$" "$work/fix" ||
        fail "fix: $(cat "$work/fix")"
grep -q "^  userns,\$" "$work/fix" || fail "fix lacks userns,"
grep -q "^# that host's AppArmor loads it when it boots; on it now: sudo apparmor_parser -r /etc/apparmor.d/usernode-rootlesskit\$" \
        "$work/fix" || fail "fix does not say how that host loads it: $(cat "$work/fix")"
if grep -q "^sudo apparmor_parser" "$work/fix"; then fail "fix loads the profile into this host: $(cat "$work/fix")"; fi
grep -q "^# or: sudo usernode setup --user alice --root $root\$" "$work/fix" || fail "fix lacks setup: $(cat "$work/fix")"

# Run the by-hand part exactly as printed (without sudo: the tree is this test's own), and it passes.
sed -n "1,/^EOF\$/p" "$work/fix" | sed '1s/^sudo //' >"$work/fix.sh"
sh "$work/fix.sh" || fail "the printed fix did not run: $(cat "$work/fix.sh")"
run
expect userns.apparmor pass "profile usernode-rootlesskit in /etc/apparmor.d/usernode-rootlesskit allows userns"

# Ubuntu's own profile for it does as well; disabling it through disable/ does not.
rm "$root/etc/apparmor.d/usernode-rootlesskit"
cat >"$root/etc/apparmor.d/rootlesskit" <<'PROFILE'
# This profile allows everything and only exists to give the
# application a name instead of having the label "unconfined"

abi <abi/4.0>,
include <tunables/global>

profile rootlesskit /usr/bin/rootlesskit flags=(unconfined) {
  userns,

  # Site-specific additions and overrides. See local/README for details.
  include if exists <local/rootlesskit>
}
PROFILE
run
expect userns.apparmor pass "profile rootlesskit in /etc/apparmor.d/rootlesskit"
ln -s ../rootlesskit "$root/etc/apparmor.d/disable/rootlesskit"
run
expect userns.apparmor fail
rm "$root/etc/apparmor.d/disable/rootlesskit"

# A profile for another binary, or without userns, does not count.
sed -i 's/^  userns,$//' "$root/etc/apparmor.d/rootlesskit"
run
expect userns.apparmor fail

# The k3s engine runs k3s inside usernode's rootlesskit: the same profile, for rootlesskit, is what it needs.
"$USERNODE" check --root "$root" --user alice --engine k3s --json >"$work/report.json" 2>/dev/null || :
expect userns.apparmor fail "/usr/bin/rootlesskit"

# Not restricted, or a kernel without the knob: pass.
echo 0 >"$root/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
run
expect userns.apparmor pass "=0"
rm "$root/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
run
expect userns.apparmor pass "absent"

# userns.enabled from the sysctls alone (no probes under --root), and the sysctl.d fix.
run
expect userns.enabled pass "not probed: --root"
echo 0 >"$root/proc/sys/kernel/unprivileged_userns_clone"
run
expect userns.enabled fail "kernel.unprivileged_userns_clone=0"
field userns.enabled fix >"$work/fix"
grep -qx "kernel.unprivileged_userns_clone = 1" "$work/fix" || fail "fix: $(cat "$work/fix")"
grep -qx "sudo tee $root/etc/sysctl.d/50-usernode.conf >/dev/null <<'EOF'" "$work/fix" || fail "fix: $(cat "$work/fix")"
grep -qx "# applied when that host boots" "$work/fix" || fail "fix: $(cat "$work/fix")"
grep -qx "# or: sudo usernode setup --user alice --root $root" "$work/fix" || fail "fix: $(cat "$work/fix")"
! grep -q "user.max_user_namespaces" "$work/fix" || fail "fix sets what is fine: $(cat "$work/fix")"
# Once sysctl.d has it (what setup writes), only applying it is left: setup is not named again.
mkdir -p "$root/etc/sysctl.d"
echo "kernel.unprivileged_userns_clone = 1" >"$root/etc/sysctl.d/50-usernode.conf"
run
expect userns.enabled fail
field userns.enabled fix >"$work/fix"
grep -q "^nothing to write: /etc/sysctl.d/50-usernode.conf sets it" "$work/fix" || fail "fix: $(cat "$work/fix")"
if grep -q "usernode setup" "$work/fix"; then fail "fix names setup again: $(cat "$work/fix")"; fi
rm "$root/etc/sysctl.d/50-usernode.conf"
echo 1 >"$root/proc/sys/kernel/unprivileged_userns_clone"
echo 0 >"$root/proc/sys/user/max_user_namespaces"
run
expect userns.enabled fail "user.max_user_namespaces=0"
field userns.enabled fix >"$work/fix"
grep -qx "user.max_user_namespaces = 28633" "$work/fix" || fail "fix: $(cat "$work/fix")"

# fs.overlay without a probe: the kernel version, then fuse-overlayfs.
run
expect fs.overlay pass "kernel 6.8 mounts overlayfs in user namespaces (not probed: --root"
# Ubuntu's kernels mount overlayfs in a user namespace before 5.11 (Ubuntu's patch): an image of one
# is told by its distribution and the release's flavour, a live one by its version string.
echo 5.4.0-150-generic >"$root/proc/sys/kernel/osrelease"
run
expect fs.overlay pass "an Ubuntu kernel"
expect kernel.version pass "an Ubuntu kernel"
# A mainline build on Ubuntu carries no such patch.
echo "#202012132330 SMP Sun Dec 13 23:33:36 UTC 2020" >"$root/proc/sys/kernel/version"
run
expect kernel.version warn "older than 5.11"
expect fs.overlay fail "not installed"
field fs.overlay fix >"$work/fix"
[ "$(head -n 1 "$work/fix")" = "sudo apt-get install -y fuse-overlayfs" ] || fail "fix: $(cat "$work/fix")"
printf '#!/bin/sh\n' >"$root/usr/bin/fuse-overlayfs"
chmod 0755 "$root/usr/bin/fuse-overlayfs"
run
expect fs.overlay warn "fuse-overlayfs is installed"
echo "apparmor: ok"
