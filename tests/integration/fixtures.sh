#!/bin/sh
# Fixture hosts (tests/fixtures/NAME/root) examined with `usernode check --root`, compared with
# tests/fixtures/NAME/expected.json (diff -u) and expected.rc. A fixture may start from another
# one's tree ("base" names it) and lay its own root/ over it. Its "modes" file gives what git cannot
# store: "MODE PATH" (chmod), "cap CAPS PATH" (setcap), "owner UID:GID PATH" (chown), and
# "rm PATH" to take a file of the base away.
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

apply_modes() {
        [ -f "$1" ] || return 0
        while read -r what a b; do
                case $what in
                ""|"#"*) ;;
                cap) setcap "$a" "$2/$b" ;;
                owner) chown -h "$a" "$2/$b" ;;
                rm) rm -rf "${2:?}/$a" ;;
                *) chmod "$what" "$2/$a" ;;
                esac
        done < "$1"
}

# lay FIXTURE DEST: the fixture's base first (recursively), then its own tree and modes.
lay() {
        if [ -f "$1/base" ]; then
                lay "$fixtures/$(cat "$1/base")" "$2"
        fi
        [ ! -d "$1/root" ] || cp -a "$1/root/." "$2/"
        apply_modes "$1/modes" "$2"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
count=0

for dir in "$fixtures"/*/; do
        name=$(basename "$dir")
        [ -f "$dir/args" ] || continue
        count=$((count + 1))
        root="$work/$name"
        mkdir "$root"
        lay "${dir%/}" "$root"
        find "$root" -name .keep -delete
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
