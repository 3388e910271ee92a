#!/bin/sh
# usernode under valgrind: no invalid access, no uninitialised use, no definite leak, on the live
# host (with and without probes) and on a fixture root.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v valgrind >/dev/null || skip "valgrind is not installed"

vg() {
        # Exit codes 0/1 are check's verdicts; valgrind's own errors exit 99.
        set +e
        valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                --show-leak-kinds=definite "$@" > /dev/null
        rc=$?
        set -e
        [ "$rc" -ne 99 ] || fail "valgrind found errors in: $*"
        [ "$rc" -le 1 ] || fail "'$*' exited $rc under valgrind"
}

vg "$USERNODE" check --no-probes
vg "$USERNODE" check
vg "$USERNODE" check --json
base="$top_srcdir/tests/fixtures/debian12-ready"
if [ -d "$base/root" ]; then
        vg "$USERNODE" check --root "$base/root" $(cat "$base/args")
fi
# setup as root on a scratch copy: --dry-run (diffs), the real run, and unsetup.
if [ "$(id -u)" -eq 0 ] && [ -f "$top_srcdir/tests/integration/setup-lib.sh" ]; then
        . "$top_srcdir/tests/integration/setup-lib.sh"
        scratch=$(mktemp -d)
        trap 'rm -rf "$scratch"' EXIT
        make_root "$scratch/root"
        vg "$USERNODE" setup --dry-run --root "$scratch/root" --user alice
        vg "$USERNODE" setup --root "$scratch/root" --user alice
        vg "$USERNODE" check --root "$scratch/root" --user alice
        vg "$USERNODE" unsetup --root "$scratch/root" --user alice
fi
echo "valgrind: clean"
