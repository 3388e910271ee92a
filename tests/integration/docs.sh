#!/bin/bash
# The user's toolbox agrees with the program: usernode(8) and the bash completion know every verb
# and option that "usernode VERB --help" lists and every check and feature ID that "check --json"
# reports; the man page lints clean; the completion script parses.
. "${top_srcdir:-.}/tests/integration/lib.sh"

man="$top_srcdir/man/usernode.8"
comp="$top_srcdir/completion/usernode"
work=$(mktemp -d "${TMPDIR:-/tmp}/usernode-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

if command -v groff >/dev/null; then
        groff -man -ww -z "$man" >"$work/groff.log" 2>&1 || true
        [ ! -s "$work/groff.log" ] || { cat "$work/groff.log"; fail "groff warns about usernode.8"; }
fi
bash -n "$comp" || fail "completion/usernode does not parse"

# The man page as plain text, with roff's \- turned into -.
sed -e 's/\\-/-/g' -e 's/\\f[BIPR]//g' "$man" >"$work/man.txt"

verbs=$("$USERNODE" --help | awk '/^Verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$verbs" ] || fail "usernode --help lists no verbs"
for v in $verbs; do
        grep -qx "\.SS $v" "$work/man.txt" || fail "usernode.8 has no section for verb $v"
        awk -v v="$v" '$0 == ".SS " v { on = 1; next } /^\.S[SH] / { on = 0 } on' "$work/man.txt" >"$work/section"
        grep -q "\[$v\]=" "$comp" || fail "the completion does not know verb $v"
        # Options of this verb as its --help lists them (first column of the option lines).
        opts=$("$USERNODE" "$v" --help | sed -n 's/^ *\(-[a-z], \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' | sort -u)
        # The completion's option list for the verb (it may span two lines).
        compopts=$(awk -v v="$v" '$0 ~ "\\[" v "\\]=" { on = 1 } on { print } on && /"$/ { exit }' "$comp")
        for o in $opts; do
                grep -qE -- "$o([^a-z0-9-]|$)" "$work/section" || fail "usernode.8's $v section does not document $o"
                case " $(echo $compopts | tr -d '"') " in
                *" $o "*|*"=$o "*) ;;
                *) fail "the completion does not offer $v $o" ;;
                esac
        done
done

# Every ID this usernode knows is documented, and every check ID is in the completion's static
# list (what it offers for a usernode too old to list its own).
"$USERNODE" check --list-ids >"$work/ids"
n=0
while read -r kind id; do
        case $kind in check|feature) ;; *) fail "check --list-ids printed '$kind $id'" ;; esac
        grep -qwF -- "$id" "$work/man.txt" || fail "usernode.8 does not document $kind ID $id"
        [ "$kind" = feature ] || grep -qwF -- "$id" "$comp" || fail "the completion's static check IDs lack $id"
        n=$((n + 1))
done <"$work/ids"
[ "$n" -gt 0 ] || fail "check --list-ids printed no ID"
grep -qF "'kmod.*'" "$comp" || fail "the completion does not offer kmod.*"

# What a report holds, on a small offline host, is among them.
host="$work/host"
mkdir -p "$host/etc" "$host/proc/self" "$host/proc/sys/kernel" "$host/sys/fs/cgroup"
printf 'ID=debian\nVERSION_ID="12"\n' >"$host/etc/os-release"
printf 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n' >"$host/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\n' >"$host/etc/group"
echo 6.1.0-27-amd64 >"$host/proc/sys/kernel/osrelease"
echo '25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw' >"$host/proc/self/mountinfo"
set +e
"$USERNODE" check --root "$host" --user alice --json >"$work/report.json"
rc=$?
set -e
case $rc in 0|1) ;; *) fail "check --root exited $rc" ;; esac
ids=$(tr -d ' \n' <"$work/report.json" | grep -o '{"id":"[a-z0-9._-]*"' | sed 's/.*:"\(.*\)"/\1/')
[ -n "$ids" ] || fail "no IDs in the report"
for id in $ids; do
        grep -qxF -e "check $id" -e "feature $id" "$work/ids" || fail "the report has $id, which check --list-ids lacks"
done
echo "docs: $(echo $verbs | wc -w) verbs, $n IDs documented"
