# Helpers for the setup/unsetup integration scripts (sourced after lib.sh).

# setup needs root: real, or the root of an unprivileged user namespace.
need_root() {
        if [ "$(id -u)" -ne 0 ]; then
                if [ -z "${USERNODE_IN_USERNS:-}" ] && unshare -r true 2>/dev/null; then
                        USERNODE_IN_USERNS=1 exec unshare -r sh "$0" "$@"
                fi
                skip "setup needs root or an unprivileged user namespace (unshare -r)"
        fi
}

# make_root DIR: a small Debian-like host tree with two ordinary users and a system user. Its
# /etc/subuid has a comment, odd spacing, a numeric-UID entry and no final newline: all must survive.
make_root() {
        r=$1
        mkdir -p "$r/etc" "$r/usr/bin" "$r/proc/sys/net/ipv4" "$r/proc/sys/kernel" "$r/proc/sys/user" "$r/proc/self"
        cat > "$r/etc/passwd" <<EOP
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
svc:x:500:500::/var/lib/svc:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
bob:x:1001:1001:Bob:/home/bob:/bin/bash
ldap:x:165600:165600::/home/ldap:/bin/sh
EOP
        cat > "$r/etc/group" <<EOP
root:x:0:
daemon:x:1:
svc:x:500:
alice:x:1000:
bob:x:1001:
ldap:x:165600:
EOP
        printf '# sub-IDs, kept by hand\nbob:100000:65536\n  1234 :  300000:65536\n' > "$r/etc/subuid"
        printf 'bob:100000:65536' > "$r/etc/subgid"
        printf 'SYS_UID_MAX\t999\nSUB_UID_MIN 100000\n' > "$r/etc/login.defs"
        printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' > "$r/etc/os-release"
        echo 0 > "$r/proc/sys/net/ipv4/ip_forward"
        echo 1 > "$r/proc/sys/kernel/unprivileged_userns_clone"
        echo 15000 > "$r/proc/sys/user/max_user_namespaces"
        echo 6.1.0-27-amd64 > "$r/proc/sys/kernel/osrelease"
        printf '#!/bin/sh\n' > "$r/usr/bin/newuidmap"
        printf '#!/bin/sh\n' > "$r/usr/bin/newgidmap"
        chmod 4755 "$r/usr/bin/newuidmap" "$r/usr/bin/newgidmap"
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
