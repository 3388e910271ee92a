#!/bin/sh
# Fixture hosts (tests/fixtures/NAME/root, laid out as fixture-lib.sh says) examined with
# `usernode check --root`, compared with tests/fixtures/NAME/expected.json (diff -u) and expected.rc.
# UPDATE_EXPECTED=1 rewrites the expected files instead of comparing.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/fixture-lib.sh"

[ -d "$fixtures" ] || skip "no fixtures"
need_fixture_root "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
count=0

for dir in "$fixtures"/*/; do
        name=$(basename "$dir")
        [ -f "$dir/args" ] || continue
        count=$((count + 1))
        root="$work/$name"
        lay_fixture "$dir" "$root"
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
