# Helpers for the setup/unsetup integration scripts (sourced after lib.sh).

. "${top_srcdir:-.}/tests/integration/fixture-lib.sh"

# setup needs root: real, or the root of an unprivileged user namespace.
need_root() {
        need_fixture_root "$@"
}

# make_root DIR: the fixture host setup-host (tests/fixtures/setup-host), a small Debian-like tree with
# two ordinary users and a system user. Its /etc/subuid has a comment, odd spacing, a numeric-UID entry
# and no final newline: all must survive.
make_root() {
        mkdir -p "$1"
        lay "$fixtures/setup-host" "$1"
        find "$1" -name .keep -delete
}

# add_users DIR N: N more ordinary users u1..uN (UIDs 2001..).
add_users() {
        i=1
        while [ "$i" -le "$2" ]; do
                echo "u$i:x:$((2000 + i)):$((2000 + i))::/home/u$i:/bin/sh" >> "$1/etc/passwd"
                echo "u$i:x:$((2000 + i)):" >> "$1/etc/group"
                i=$((i + 1))
        done
}

# snapshot DIR: every file and directory with inode, mtime (ns), mode and content hash.
snapshot() {
        (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
                if [ -f "$p" ]; then
                        echo "$p $(stat -c '%i %Y.%y %a' "$p") $(sha256sum < "$p" | cut -c1-64)"
                else
                        echo "$p $(stat -c '%F %a' "$p")"
                fi
        done)
}

# check_json ROOT USER ID STATUS: `check --root` reports check ID with STATUS.
check_status() {
        "$USERNODE" check --root "$1" --user "$2" --json --no-probes > "$work/check.json" 2>/dev/null || true
        python3 - "$work/check.json" "$3" "$4" <<'EOP'
import json, sys
report = json.load(open(sys.argv[1]))
got = {c["id"]: c for c in report["checks"]}
c = got.get(sys.argv[2])
if c is None or c["status"] != sys.argv[3]:
    sys.exit("check %s: %s (expected %s)" % (sys.argv[2], c, sys.argv[3]))
EOP
}
