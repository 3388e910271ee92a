#!/bin/sh
# 20 setups for 20 users at once on one root: 20 distinct, non-overlapping sub-ID ranges, no line
# lost, no other line changed. They exclude each other through shadow's lock (/etc/subuid.lock).
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/setup-lib.sh"
need_root "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/root
N=20
make_root "$R"
add_users "$R" "$N"
cp -a "$R" "$work/orig"

pids=""
i=1
while [ "$i" -le "$N" ]; do
        "$USERNODE" setup --root "$R" --user "u$i" > "$work/out.$i" 2>&1 &
        pids="$pids $!"
        i=$((i + 1))
done
failed=0
for p in $pids; do
        wait "$p" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || { cat "$work"/out.*; fail "$failed parallel setups failed"; }

for f in subuid subgid; do
        python3 - "$work/orig/etc/$f" "$R/etc/$f" "$N" <<'EOP' || fail "/etc/$f after $N parallel setups"
import sys
old = open(sys.argv[1], "rb").read()
new = open(sys.argv[2], "rb").read()
n = int(sys.argv[3])
# Every original byte kept: without the added lines the file is the old one.
text = new.decode()
added = [l for l in text.split("\n") if l.startswith("u") and ":" in l]
rest = text
for l in added:
    rest = rest.replace(l + "\n", "", 1)
assert rest == old.decode(), "original lines changed"
assert len(added) == n, "expected %d new lines, got %d" % (n, len(added))
owners = sorted(l.split(":")[0] for l in added)
assert owners == sorted("u%d" % i for i in range(1, n + 1)), owners
ranges = []
for l in new.decode().splitlines():
    l = l.strip()
    if not l or l.startswith("#"):
        continue
    o, s, c = [x.strip() for x in l.split(":")]
    ranges.append((int(s), int(s) + int(c), o))
ranges.sort()
for a, b in zip(ranges, ranges[1:]):
    assert a[1] <= b[0], "overlap: %s %s" % (a, b)
for s, e, o in ranges:
    assert not (s <= 165600 < e), "range of %s contains a real UID" % o
print("%s: %d ranges, no overlap" % (sys.argv[2], len(ranges)))
EOP
done
[ -z "$(find "$R/etc" -maxdepth 1 -name '*.lock')" ] || fail "lock files left behind"
[ "$(ls "$R/var/lib/usernode/setup" | wc -l)" -eq "$N" ] || fail "expected $N manifests"

# And all of them taken back, in parallel too.
pids=""
i=1
while [ "$i" -le "$N" ]; do
        "$USERNODE" unsetup --root "$R" --user "u$i" > "$work/uout.$i" 2>&1 &
        pids="$pids $!"
        i=$((i + 1))
done
for p in $pids; do
        wait "$p" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || { cat "$work"/uout.*; fail "$failed parallel unsetups failed"; }
diff -r "$work/orig" "$R" || fail "parallel unsetups did not restore the tree"
echo "setup-parallel: ok"
