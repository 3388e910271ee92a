#!/bin/sh
# setup --root on a fresh tree: the files it writes, the sub-ID checks before and after, a second run
# that changes nothing (inode, mtime, content), --dry-run that changes nothing, validation, and an
# unsetup that restores every file byte for byte (also after an admin edit, only with --force).
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/setup-lib.sh"
need_root "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/root
make_root "$R"
cp -a "$R" "$work/orig"

check_status "$R" alice subid.uid fail || fail "subid.uid should fail before setup"
check_status "$R" bob subid.uid pass || fail "bob's range should pass"
check_status "$R" alice subid.tools pass || fail "setuid newuidmap should pass"

# --dry-run: a diff, nothing written.
"$USERNODE" setup --root "$R" --user alice --dry-run > "$work/dry" || fail "dry-run failed"
grep -q '^+alice:165601:65536$' "$work/dry" || { cat "$work/dry"; fail "dry-run shows no sub-UID line"; }
grep -q '^+++ b/etc/systemd/system/user@.service.d/50-usernode-delegate.conf' "$work/dry" || fail "no drop-in diff"
diff -r "$work/orig" "$R" > /dev/null || fail "--dry-run changed the tree"

"$USERNODE" setup --root "$R" --user alice > "$work/out" || { cat "$work/out"; fail "setup failed"; }
grep -qx 'Delegate=cpu cpuset io memory pids' "$R/etc/systemd/system/user@.service.d/50-usernode-delegate.conf" ||
        fail "drop-in content"
# The real UID 165600 (ldap) lies in the first gap: the range starts after it.
[ "$(tail -n 1 "$R/etc/subuid")" = "alice:165601:65536" ] || fail "subuid: $(tail -n 1 "$R/etc/subuid")"
# subgid lacked its final newline: the new line goes before the last one, which stays byte for byte.
[ "$(cat "$R/etc/subgid")" = "alice:165601:65536
bob:100000:65536" ] || fail "subgid: $(cat "$R/etc/subgid")"
[ "$(tail -c 1 "$R/etc/subgid")" = 6 ] || fail "subgid gained a final newline"
cmp -s -n "$(wc -c < "$work/orig/etc/subuid")" "$R/etc/subuid" "$work/orig/etc/subuid" ||
        fail "other subuid lines were not kept byte for byte"
# Host-wide routing only when asked for (--fast-net): not by a plain setup.
! grep -q 'net.ipv4.ip_forward' "$R/etc/sysctl.d/50-usernode.conf" || fail "setup turned on ip_forward unasked"
if grep -q unprivileged_userns_clone "$R/etc/sysctl.d/50-usernode.conf"; then
        fail "a setting the host already has was written"
fi
grep -qx br_netfilter "$R/etc/modules-load.d/usernode.conf" || fail "modules-load.d"
[ -f "$R/var/lib/systemd/linger/alice" ] || fail "no linger file under --root"
grep -q '^line /etc/subuid ' "$R/var/lib/usernode/setup/alice.manifest" || fail "manifest lacks the sub-ID line"
[ ! -e "$R/etc/sysctl.d/50-usernode.conf" ] || grep -q 'sysctl --system' "$work/out" ||
        fail "setup --root does not say what to reload"
[ "$(stat -c %a "$R/var/lib/usernode/setup/alice.manifest")" = 600 ] || fail "manifest mode"
[ -z "$(find "$R/etc" -maxdepth 1 -name '*.lock')" ] || fail "a lock file was left behind"

check_status "$R" alice subid.uid pass || fail "subid.uid after setup"
check_status "$R" alice subid.gid pass || fail "subid.gid after setup"

# Idempotent: nothing changes, not even an mtime.
snapshot "$R" > "$work/s1"
"$USERNODE" setup --root "$R" --user alice > "$work/out2" || fail "second setup failed"
grep -q 'nothing to do' "$work/out2" || fail "second run did not say nothing to do: $(cat "$work/out2")"
snapshot "$R" > "$work/s2"
diff -u "$work/s1" "$work/s2" || fail "second setup changed the tree"

# Validation.
expect_exit 2 "$USERNODE" setup --root "$R" --user svc
expect_exit 2 "$USERNODE" setup --root "$R" --user root
expect_exit 2 "$USERNODE" setup --root "$R" --user nosuchuser
expect_exit 2 "$USERNODE" setup --root "$R" --user 'a:b'
expect_exit 2 "$USERNODE" setup --root "$R" --user alice --delegate cpu,frobs
expect_exit 2 "$USERNODE" setup --root "$R" --user alice --subids 10
expect_exit 2 "$USERNODE" setup --root "$R" --user alice extra
snapshot "$R" > "$work/s3"
diff -u "$work/s1" "$work/s3" || fail "a refused setup changed the tree"

# --fast-net asks for host-wide routing: then, and only then, ip_forward.
cp -a "$work/orig" "$work/fast"
"$USERNODE" setup --root "$work/fast" --user alice --fast-net > "$work/out-fast" || fail "setup --fast-net failed"
grep -qx 'net.ipv4.ip_forward = 1' "$work/fast/etc/sysctl.d/50-usernode.conf" || fail "--fast-net: no ip_forward"
grep -q 'sysctl --system' "$work/out-fast" || fail "setup --fast-net --root does not say what to reload"

# unsetup --dry-run changes nothing; an admin edit blocks unsetup until --force.
"$USERNODE" unsetup --root "$R" --user alice --dry-run > "$work/udry" || fail "unsetup --dry-run"
grep -q '^-alice:165601:65536$' "$work/udry" || fail "unsetup --dry-run shows no removal"
snapshot "$R" > "$work/s4"
diff -u "$work/s1" "$work/s4" || fail "unsetup --dry-run changed the tree"
echo "# admin" >> "$R/etc/modules-load.d/usernode.conf"
expect_exit 1 "$USERNODE" unsetup --root "$R" --user alice
[ -f "$R/var/lib/usernode/setup/alice.manifest" ] || fail "a refused unsetup removed the manifest"
"$USERNODE" unsetup --root "$R" --user alice --force > "$work/uout" || fail "unsetup --force"
diff -r "$work/orig" "$R" || fail "unsetup did not restore the tree"
(cd "$work/orig" && find . -type f) | while read -r f; do
        cmp -s "$work/orig/$f" "$R/$f" || fail "$f differs after unsetup"
done

# --delegate and a second user sharing the host-wide files; unsetup of the first hands them over.
"$USERNODE" setup --root "$R" --user alice --delegate memory,pids --no-linger > /dev/null || fail "setup --delegate"
grep -qx 'Delegate=memory pids' "$R/etc/systemd/system/user@.service.d/50-usernode-delegate.conf" || fail "--delegate"
[ -e "$R/var/lib/systemd/linger/alice" ] && fail "--no-linger wrote a linger file"
"$USERNODE" setup --root "$R" --user bob --fast-net > /dev/null || fail "setup bob"
grep -qx 'bob veth usernode0 10' "$R/etc/lxc/lxc-usernet" || fail "lxc-usernet"
[ "$(grep -c '^bob:' "$R/etc/subuid")" = 1 ] || fail "bob's good range was not left alone"
"$USERNODE" unsetup --root "$R" --user alice > /dev/null || fail "unsetup alice"
[ -f "$R/etc/systemd/system/user@.service.d/50-usernode-delegate.conf" ] || fail "bob's drop-in was removed"
"$USERNODE" unsetup --root "$R" --user bob > /dev/null || fail "unsetup bob"
diff -r "$work/orig" "$R" || fail "two unsetups did not restore the tree"
expect_exit 0 "$USERNODE" unsetup --root "$R" --user bob

# A drop-in that sorts after ours and sets [Service] Delegate= overrides it: setup says so. Read the way
# systemd (and check) read it: a Delegate= line in another section, or commented out, is not one.
mkdir -p "$R/usr/lib/systemd/system/user@.service.d" "$R/etc/systemd/system/user@1000.service.d"
printf '[Service]\nDelegate=cpu\n' > "$R/usr/lib/systemd/system/user@.service.d/90-vendor.conf"
printf '[Unit]\nDescription=x\n# Delegate=yes\n[Install]\nDelegate=yes\n' > "$R/etc/systemd/system/user@1000.service.d/99-other.conf"
"$USERNODE" setup --root "$R" --user alice --dry-run > "$work/over" 2>&1 || fail "dry-run with other drop-ins: $(cat "$work/over")"
grep -q "user@.service.d/90-vendor.conf sets Delegate= and sorts after 50-usernode-delegate.conf" "$work/over" ||
        fail "no warning for a later drop-in that sets Delegate=: $(cat "$work/over")"
! grep -q "99-other.conf sets Delegate=" "$work/over" || fail "a Delegate= outside [Service] counted: $(cat "$work/over")"
echo "setup-basic: ok"
