#!/bin/bash
# Hostile hosts for `check --root` (and `setup --dry-run --root`): symlinks out of the root, FIFOs and
# directories where files belong, files past the bounds, unreadable files, 1,000+ drop-ins, odd unit
# syntax, cgroup and os-release garbage, a 100k-line passwd. Each run ends within 10 s with a verdict
# (exit 0/1) or a clear error (exit 2), never a crash, a hang, or a byte from outside the root.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/fixture-lib.sh"

base=$top_srcdir/tests/fixtures/debian12-ready
[ -d "$base/root" ] || skip "no debian12-ready fixture"
command -v timeout >/dev/null || skip "timeout(1) is not installed"
read -r -a args < "$base/args"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
reachable_copy "$work"
canary="CANARY-$$-$RANDOM"
# Outside every root: what a symlink escape would read. Shaped like lines each parser would quote back.
printf '%s:1:1\n%s x\nID=%s\n[Service]\nDelegate=%s\n' "$canary" "$canary" "$canary" "$canary" > "$work/secret"

fresh() {       # fresh NAME: a copy of the fixture root with its file modes, in $work/NAME
        rm -rf "${work:?}/$1"
        lay_fixture "$base" "$work/$1"
}

# run NAME WANT-RC-REGEX CMD...: runs under timeout 10; a crash, hang, sanitizer report or the canary fails.
run() {
        local name=$1 want=$2 rc
        shift 2
        set +e
        timeout 10 "$@" > "$work/$name.out" 2> "$work/$name.err"
        rc=$?
        set -e
        [ "$rc" -ne 124 ] || fail "$name: hung (killed after 10 s): $*"
        [ "$rc" -le 3 ] || fail "$name: exit $rc (crash?): $(tail -n 5 "$work/$name.err")"
        [[ "$rc" =~ ^($want)$ ]] || fail "$name: exit $rc, expected $want: $(tail -n 3 "$work/$name.err")"
        [ "$rc" -lt 2 ] || [ -s "$work/$name.err" ] || fail "$name: exit $rc without a message"
        ! grep -q "$canary" "$work/$name.out" "$work/$name.err" || fail "$name: read a file outside the root"
        ! grep -q 'runtime error\|AddressSanitizer\|LeakSanitizer' "$work/$name.err" || fail "$name: sanitizer"
}

check_root() {  # check_root NAME WANT-RC [EXTRA ARGS]: check --json on $work/NAME
        local name=$1 want=$2
        shift 2
        run "$name" "$want" "$USERNODE" check --root "$work/$name" "${args[@]}" --json "$@"
}

status_of() {   # status_of NAME ID: the status of check ID in $work/NAME.out
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(next((c["status"] for c in d["checks"] if c["id"] == sys.argv[2]), "missing"))' "$work/$1.out" "$2"
}

detail_of() {
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(next((c.get("detail", "") for c in d["checks"] if c["id"] == sys.argv[2]), ""))' "$work/$1.out" "$2"
}

expect_status() {       # expect_status NAME ID STATUS-REGEX
        local got
        got=$(status_of "$1" "$2")
        [[ "$got" =~ ^($3)$ ]] || fail "$1: $2 is $got, expected $3 ($(detail_of "$1" "$2"))"
}

command -v python3 >/dev/null || skip "python3 is not installed"
fresh pristine
check_root pristine 0

# 1. Every file the checks read, replaced in turn by a symlink out of the root (absolute, relative with
# more ../ than the depth, and to /etc/shadow): resolved inside the root (so: missing), never outside.
n=0
while IFS= read -r f; do
        rel=${f#"$work/pristine/"}
        for target in "$work/secret" "../../../../../../../../../../..$work/secret" /etc/shadow; do
                fresh link
                rm -f "$work/link/$rel"
                ln -s "$target" "$work/link/$rel"
                check_root link '0|1|2|3'
                n=$((n + 1))
        done
done < <(find "$work/pristine" -type f | grep -v '/usr/bin/\|/usr/sbin/\|/sbin/\|/bin/')
# A whole directory as a symlink out of the root.
for d in etc proc sys etc/systemd etc/apparmor.d proc/sys proc/net; do
        fresh link
        rm -rf "${work:?}/link/$d"
        ln -s "$work" "$work/link/$d"
        check_root link '0|1|2|3'
        n=$((n + 1))
done
echo "symlinks out of the root: $n runs, no escape"

# 2. /etc/subuid as a FIFO (nobody writes it: a blocking open would hang) and as a directory.
fresh fifo
rm "$work/fifo/etc/subuid"
mkfifo "$work/fifo/etc/subuid"
check_root fifo 1
expect_status fifo subid.uid fail
grep -q 'not a regular file\|FIFO\|Invalid argument' <<< "$(detail_of fifo subid.uid)" ||
        fail "fifo: unclear detail: $(detail_of fifo subid.uid)"
run fifo-setup '0|1|2|3' "$USERNODE" setup --dry-run --root "$work/fifo" --user alice
fresh dir
rm "$work/dir/etc/subuid"
mkdir "$work/dir/etc/subuid"
check_root dir 1
expect_status dir subid.uid fail
run dir-setup '2' "$USERNODE" setup --dry-run --root "$work/dir" --user alice
echo "fifo/dir: $(detail_of fifo subid.uid) / $(detail_of dir subid.uid)"

# 3. Files larger than the bounds (4 MiB host files, 1 MiB unit files): a clear verdict, not a read of
# everything.
for f in etc/subuid etc/passwd etc/os-release etc/resolv.conf etc/security/limits.conf proc/modules \
         usr/lib/systemd/system/user@.service etc/systemd/system/user@.service.d/50-usernode-delegate.conf; do
        fresh big
        { cat "$base/root/$f"; head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' '#'; echo; } > "$work/big/$f"
        check_root big '0|1|2|3'
done
fresh big
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' '\n' > "$work/big/etc/subuid"
check_root big 1
expect_status big subid.uid fail
echo "oversized: $(detail_of big subid.uid)"

# 4. Unreadable files (mode 000), as an unprivileged user (root reads them anyway): each is a verdict.
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        fresh unread
        chmod -R a+rX "$work/unread"
        m=0
        while IFS= read -r f; do
                chmod 000 "$f"
                m=$((m + 1))
        done < <(find "$work/unread/proc" "$work/unread/sys" "$work/unread/etc" -type f | grep -v '/etc/passwd$\|/etc/group$\|/etc/os-release$')
        run unread '0|1|2|3' setpriv --reuid=nobody --regid=nogroup --clear-groups "$USERNODE" check \
                --root "$work/unread" "${args[@]}" --json
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/unread.out" || fail "unread: no JSON report"
        expect_status unread subid.uid fail
        chmod 000 "$work/unread/proc" "$work/unread/etc/systemd"
        run unread '0|1|2|3' setpriv --reuid=nobody --regid=nogroup --clear-groups "$USERNODE" check \
                --root "$work/unread" "${args[@]}" --json
        chmod 000 "$work/unread/etc/os-release"
        run unread 3 setpriv --reuid=nobody --regid=nogroup --clear-groups "$USERNODE" check \
                --root "$work/unread" "${args[@]}" --json
        grep -q 'cannot read os-release: Permission denied' "$work/unread.err" || fail "unread: $(cat "$work/unread.err")"
        chmod 000 "$work/unread/etc/passwd"
        run unread 3 setpriv --reuid=nobody --regid=nogroup --clear-groups "$USERNODE" check \
                --root "$work/unread" "${args[@]}" --json
        grep -q 'cannot read /etc/passwd: Permission denied' "$work/unread.err" || fail "unread: $(cat "$work/unread.err")"
        echo "unreadable: $m files mode 000 and two directories, verdicts as nobody; /etc/passwd: $(cat "$work/unread.err")"
else
        echo "unreadable: skipped (needs root, setpriv and the user nobody)"
fi

# 5. user@.service.d with 1,000 drop-ins (systemd's and our bound): the last one decides. 1,001: refused.
dropins() {     # dropins NAME COUNT LAST-VALUE
        fresh "$1"
        rm -rf "${work:?}/$1/sys/fs/cgroup/user.slice"  # no live manager: the configuration decides
        local d=$work/$1/etc/systemd/system/user@.service.d
        rm -f "$d"/*.conf
        for i in $(seq -w 1 $(($2 - 1))); do printf '[Service]\nDelegate=no\n' > "$d/$i-x.conf"; done
        printf '[Service]\nDelegate=%s\n' "$3" > "$d/zz-last.conf"
}
dropins many 1000 "cpu cpuset io memory pids"
check_root many '0|1'
expect_status many cgroup.delegation pass
grep -q 'zz-last.conf' <<< "$(detail_of many cgroup.delegation)" || fail "1000 drop-ins: the last one not named"
dropins many 1000 no
check_root many 1
expect_status many cgroup.delegation 'fail|warn'
dropins many 1001 "cpu cpuset io memory pids"
check_root many '0|1|2|3'
expect_status many cgroup.delegation 'fail|warn|skip'
grep -q '1000\|too many' <<< "$(detail_of many cgroup.delegation)" ||
        fail "1001 drop-ins: unclear detail: $(detail_of many cgroup.delegation)"
echo "1001 drop-ins: $(detail_of many cgroup.delegation)"

# 6. Odd drop-in syntax: continuations, quoting, comments, resets, yes/no. systemd's verdict for each.
odd() {         # odd WANT-STATUS TEXT
        fresh odd
        rm -rf "${work:?}/odd/sys/fs/cgroup/user.slice"
        printf '%b' "$2" > "$work/odd/etc/systemd/system/user@.service.d/50-usernode-delegate.conf"
        check_root odd '0|1'
        expect_status odd cgroup.delegation "$1"
}
odd pass '[Service]\nDelegate=cpu cpuset \\\n  io memory \\\n pids\n'
# A quoted "cpu cpuset" is one word, no controller: systemd ignores it (user@.service gives pids memory cpu).
odd 'fail|warn' '[Service]\nDelegate="cpu cpuset" '"'io memory'"' pids\n'
odd pass '[Service]\nDelegate="cpu" '"'cpuset'"' i"o" "memory" pids\n'
odd pass '[Service]\nDelegate=no\nDelegate=yes\n'
# An empty Delegate= turns delegation on with no controller: nothing delegated.
odd 'fail|warn' '[Service]\nDelegate=\n'
odd 'fail|warn' '[Service]\nDelegate=yes\nDelegate=no\n'
odd 'fail|warn' '[Service]\n# Delegate=yes\n; Delegate=yes\n'
odd 'fail|warn' '[Unit]\nDelegate=yes\n'
odd 'fail|warn' '[Service]\nDelegate="cpu cpuset io memory pids\n'
# A continuation at the end of the file: systemd parses what it has.
odd pass '[Service]\nDelegate=cpu cpuset io memory pids \\\n'
odd 'pass|fail|warn' '[Service\nDelegate=yes\n'
odd 'pass|fail|warn' '\0\0\0[Service]\nDelegate=yes\n'
odd pass "[Service]\nDelegate=cpu $(head -c 300 /dev/zero | tr '\0' x) memory pids io cpuset\n"
echo "odd drop-in syntax: verdicts as systemd's"

# 7. cgroup files with unexpected tokens.
for text in 'cpu cpuset io memory pids hugetlb rdma misc bogus\tweird' '' '\0\0\0' 'cpu  cpu\n\ncpu' \
            "$(head -c 100000 /dev/zero | tr '\0' 'c')"; do
        fresh cg
        while IFS= read -r f; do printf '%b' "$text" > "$f"; done < <(find "$work/cg/sys/fs/cgroup" -name cgroup.controllers)
        printf '%b' "$text" > "$work/cg/sys/fs/cgroup/cgroup.subtree_control" 2>/dev/null || true
        check_root cg '0|1|2|3'
done
echo "cgroup garbage: verdicts"

# 8. os-release garbage.
for text in '' 'ID' '=\n=\n' 'ID="unterminated\nVERSION_ID=\x27x' 'ID=\xff\xfe\x00debian' \
            "ID=$(head -c 10000 /dev/zero | tr '\0' a)"; do
        fresh osr
        printf '%b' "$text" > "$work/osr/etc/os-release"
        check_root osr '0|1|2|3'
done
head -c 100000 /dev/urandom > "$work/osr/etc/os-release"
check_root osr '0|1|2|3'
echo "os-release garbage: verdicts"

# 9. passwd and group with 100k lines (alice last): found, quickly.
fresh big-passwd
{
        grep -v '^alice:' "$base/root/etc/passwd"
        seq 1 100000 | awk '{ printf "u%d:x:%d:%d::/:/bin/sh\n", $1, 200000 + $1, 200000 + $1 }'
        grep '^alice:' "$base/root/etc/passwd"
} > "$work/big-passwd/etc/passwd"
start=$(date +%s%N)
check_root big-passwd 0
echo "passwd with $(wc -l < "$work/big-passwd/etc/passwd") lines: $((($(date +%s%N) - start) / 1000000)) ms"
# Longer lines past the 4 MiB bound: a clear error.
sed -i 's|::/:|::/home/a-rather-long-home-directory:|' "$work/big-passwd/etc/passwd"
check_root big-passwd 3
grep -q 'cannot read /etc/passwd: File too large' "$work/big-passwd.err" || fail "big passwd: $(cat "$work/big-passwd.err")"
echo "hostile: all verdicts clear"
