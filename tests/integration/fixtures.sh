#!/bin/sh
# Fixture hosts (tests/fixtures/NAME/root) examined with `usernode check --root`, compared with
# tests/fixtures/NAME/expected.json (diff -u) and expected.rc. A fixture's "modes" file gives what
# git cannot store: "MODE PATH" (chmod), "cap CAPS PATH" (setcap), "owner UID:GID PATH" (chown).
# UPDATE_EXPECTED=1 rewrites the expected files instead of comparing.
. "${top_srcdir:-.}/tests/integration/lib.sh"

fixtures=${top_srcdir}/tests/fixtures
[ -d "$fixtures" ] || skip "no fixtures"

# setuid-root binaries and file capabilities need root, real or namespaced.
if [ "$(id -u)" -ne 0 ]; then
        if [ -z "${USERNODE_IN_USERNS:-}" ] && unshare -r true 2>/dev/null; then
                USERNODE_IN_USERNS=1 exec unshare -r sh "$0" "$@"
        fi
        skip "fixtures need root or an unprivileged user namespace (unshare -r)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
count=0

for dir in "$fixtures"/*/; do
        name=$(basename "$dir")
        [ -d "$dir/root" ] || continue
        count=$((count + 1))
        root="$work/$name"
        cp -a "$dir/root" "$root"
        if [ -f "$dir/modes" ]; then
                while read -r what a b; do
                        case $what in
                        ""|"#"*) ;;
                        cap) setcap "$a" "$root/$b" ;;
                        owner) chown -h "$a" "$root/$b" ;;
                        *) chmod "$what" "$root/$a" ;;
                        esac
                done < "$dir/modes"
        fi
        args=$(cat "$dir/args" 2>/dev/null || true)
        set +e
        # shellcheck disable=SC2086 # args is a word list by design
        "$USERNODE" check --root "$root" --json $args > "$work/$name.out" 2> "$work/$name.err"
        rc=$?
        set -e
        sed "s|$root|@ROOT@|g" "$work/$name.out" > "$work/$name.json"
        if [ -n "${UPDATE_EXPECTED:-}" ]; then
                cp "$work/$name.json" "$dir/expected.json"
                echo "$rc" > "$dir/expected.rc"
                continue
        fi
        if ! diff -u "$dir/expected.json" "$work/$name.json"; then
                echo "fixture $name: output differs (stderr: $(cat "$work/$name.err"))" >&2
                failed=$((failed + 1))
        fi
        want=$(cat "$dir/expected.rc")
        if [ "$rc" -ne "$want" ]; then
                echo "fixture $name: exit $rc, expected $want" >&2
                failed=$((failed + 1))
        fi
        python3 -m json.tool "$work/$name.out" > /dev/null || { echo "fixture $name: invalid JSON" >&2; failed=$((failed + 1)); }
done

[ "$count" -gt 0 ] || skip "no fixture roots"
[ "$failed" -eq 0 ] || fail "$failed fixture comparison(s) failed"
echo "fixtures: $count ok"
