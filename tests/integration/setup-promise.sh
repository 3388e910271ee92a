#!/bin/sh
# What check promises, setup does: on a copy of every fixture host, `setup --root` and then
# `check --root`, and no check whose fix names `usernode setup` may still be failing or warning. A host
# where no fix names setup (NixOS) may have setup refuse: then it changes nothing.
# A fix that names setup with flags (--privileged-ports) is run as named and held to the same.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/fixture-lib.sh"

[ -d "$fixtures" ] || skip "no fixtures"
command -v jq >/dev/null || skip "jq is needed to read the JSON report"
need_fixture_root "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check_json ROOT ARGS OUT: the report of `check --root ROOT ARGS` (exit 0 or 1) in OUT.
check_json() {
        set +e
        # shellcheck disable=SC2086 # args is a word list by design
        "$USERNODE" check --root "$1" --json $2 > "$3" 2> "$work/check.err"
        rc=$?
        set -e
        [ "$rc" -le 1 ] || fail "check --root $1 exited $rc: $(cat "$work/check.err")"
}

# unkept REPORT: "ID STATUS: FIX" for each check that does not pass and whose fix runs setup.
unkept() {
        jq -r '.checks[] | select(.status != "pass" and ((.fix // "") | test("usernode setup")))
                | "\(.id) \(.status): \(.fix)"' "$1"
}

# setup_commands REPORT: the distinct setup command lines those fixes name, without sudo.
setup_commands() {
        jq -r '.checks[] | select(.status != "pass") | .fix // empty' "$1" > "$work/fixes"
        grep -o 'usernode setup --user [a-z0-9_-]*\( --[a-z-]*\)* --root [^ ;)]*' "$work/fixes" | sort -u || :
}

promised=0
fixtures_run=0
for dir in "$fixtures"/*/; do
        name=$(basename "$dir")
        [ -f "$dir/args" ] || continue
        args=$(cat "$dir/args")
        user=$(printf '%s\n' "$args" | sed -n 's/.*--user \([^ ]*\).*/\1/p')
        [ -n "$user" ] || fail "$name: args name no --user"
        root=$work/$name
        lay_fixture "$dir" "$root"
        fixtures_run=$((fixtures_run + 1))

        check_json "$root" "$args" "$work/$name.before.json"
        unkept "$work/$name.before.json" > "$work/$name.before"
        [ ! -s "$work/$name.before" ] || promised=$((promised + 1))

        # Where check names no setup (NixOS: every fix is a configuration.nix setting), setup promised nothing:
        # it may refuse, but then it must have changed nothing and said what to configure instead.
        if [ ! -s "$work/$name.before" ] && ! jq -e '[.checks[].fix // "" | test("usernode setup")] | any' \
                "$work/$name.before.json" > /dev/null; then
                cp -a "$root" "$work/$name.copy"
                if ! "$USERNODE" setup --user "$user" --root "$root" > "$work/$name.setup" 2>&1; then
                        diff -r --no-dereference "$work/$name.copy" "$root" > /dev/null || fail "$name: setup refused but changed the tree"
                        grep -q 'configuration' "$work/$name.setup" || fail "$name: setup refused without saying what to configure"
                        continue
                fi
        elif ! "$USERNODE" setup --user "$user" --root "$root" > "$work/$name.setup" 2>&1; then
                fail "$name: setup failed: $(cat "$work/$name.setup")"
        fi
        check_json "$root" "$args" "$work/$name.after.json"
        unkept "$work/$name.after.json" > "$work/$name.after"
        # What is left may only be fixes that run setup with flags this run did not give.
        grep -v "usernode setup --user $user --root $root\\([ );]\\|\$\\)" "$work/$name.after" > "$work/$name.flags" || :
        if ! cmp -s "$work/$name.after" "$work/$name.flags"; then
                cat "$work/$name.setup" >&2
                fail "$name: after setup --user $user, checks still name it as their fix: $(cat "$work/$name.after")"
        fi

        # Setup's options add up (one run writes what each asks for; a later run without one takes its part
        # back): one run with every option the fixes name.
        setup_commands "$work/$name.after.json" > "$work/$name.commands"
        flags=$(grep -o -- ' --[a-z-]*' "$work/$name.commands" | grep -v -e ' --user$' -e ' --root$' | sort -u | tr -d '\n' || :)
        if [ -s "$work/$name.commands" ]; then
                # shellcheck disable=SC2086 # the options, one word each
                "$USERNODE" setup --user "$user" $flags --root "$root" > "$work/$name.setup2" 2>&1 ||
                        fail "$name: setup --user $user$flags failed: $(cat "$work/$name.setup2")"
        fi
        check_json "$root" "$args" "$work/$name.final.json"
        unkept "$work/$name.final.json" > "$work/$name.final"
        [ ! -s "$work/$name.final" ] ||
                fail "$name: after setup --user $user$flags checks still name setup: $(cat "$work/$name.final")"
done

[ "$fixtures_run" -gt 0 ] || skip "no fixture hosts"
# The test means something only if some fixture host needed setup before it ran.
[ "$promised" -gt 0 ] || fail "no fixture host had a check whose fix is setup: nothing was tested"
echo "setup-promise: $fixtures_run fixture hosts, $promised needed setup"
