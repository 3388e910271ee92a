#!/bin/sh
# Hostile host files: each gets a clear error (exit 2) and nothing changes.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/setup-lib.sh"
need_root "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# hostile NAME EXPECTED-MESSAGE: runs setup on $work/NAME (prepared by the caller), expects exit 2,
# the message on stderr, and the tree unchanged.
hostile() {
        snapshot "$work/$1" > "$work/$1.before"
        set +e
        "$USERNODE" setup --root "$work/$1" --user alice > "$work/$1.out" 2> "$work/$1.err"
        rc=$?
        set -e
        [ "$rc" -eq 2 ] || fail "$1: exit $rc, expected 2 ($(cat "$work/$1.err"))"
        grep -q -- "$2" "$work/$1.err" || fail "$1: message '$(cat "$work/$1.err")' lacks '$2'"
        snapshot "$work/$1" > "$work/$1.after"
        diff -u "$work/$1.before" "$work/$1.after" || fail "$1: the tree changed"
        echo "$1: $(cat "$work/$1.err")"
}

make_root "$work/symlink"
mv "$work/symlink/etc/subuid" "$work/symlink/etc/subuid.real"
ln -s subuid.real "$work/symlink/etc/subuid"
hostile symlink "subuid.*symlink"

make_root "$work/symlinkdir"
mkdir -p "$work/elsewhere"
ln -s "$work/elsewhere" "$work/symlinkdir/etc/sysctl.d"
hostile symlinkdir "sysctl.d.*symlink"

make_root "$work/big"
head -c 10485760 /dev/zero | tr '\0' '\n' > "$work/big/etc/subuid"
hostile big "larger than"

make_root "$work/nul"
printf 'bob:100000:65536\nal\000ice:200000:65536\n' > "$work/nul/etc/subuid"
hostile nul "subuid:2: NUL byte"

make_root "$work/long"
{ printf 'bob:100000:65536\n'; head -c 5000 /dev/zero | tr '\0' 'x'; printf ':1:1\n'; } > "$work/long/etc/subuid"
hostile long "subuid:2: line longer"

make_root "$work/overflow"
printf 'bob:100000:65536\nmallory:4294967000:65536\n' > "$work/overflow/etc/subuid"
hostile overflow "subuid:2: .*overflows 32 bits.*mallory"

make_root "$work/huge"
printf 'bob:100000:99999999999999999999\n' > "$work/huge/etc/subgid"
hostile huge "subgid:1: malformed"

make_root "$work/colon"
printf 'bob:100000:65536\nev:il:1:2\n' > "$work/colon/etc/subuid"
hostile colon "subuid:2: malformed.*ev:il:1:2"

make_root "$work/overlap"
printf 'bob:100000:65536\nalice:150000:65536\n' > "$work/overlap/etc/subuid"
hostile overlap "overlaps"

make_root "$work/username"
snapshot "$work/username" > "$work/username.before"
expect_exit 2 "$USERNODE" setup --root "$work/username" --user 'ali:ce'
expect_exit 2 "$USERNODE" setup --root "$work/username" --user "$(printf 'ali\nce')"
snapshot "$work/username" > "$work/username.after"
diff -u "$work/username.before" "$work/username.after" || fail "username: the tree changed"

# check reports the malformed line too, with its number.
check_status "$work/colon" alice subid.uid fail || fail "check on a malformed /etc/subuid"
grep -q 'subuid:2' "$work/check.json" || fail "check does not name the line"
echo "setup-hostile: ok"
