#!/bin/bash
# The suite does not depend on where the tree is. Root's home is 0700 on Debian, and so is every
# `mktemp -d`: a clone there is a tree the test user cannot enter. A copy of this build in such a
# directory runs, from there, the tests that act as other users (the unit test's probe re-executing
# itself as the user, scripts sourced by the user, usernode run by nobody); each must pass as it does here.
. "${top_srcdir:-.}/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root: only root has a directory others cannot enter to run from"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$(stat -c %a "$work")" = 700 ] || fail "mktemp -d made $work mode $(stat -c %a "$work"), not 0700"
tree=$work/tree
mkdir -p "$tree"
cp -a "$top_srcdir/tests" "$tree/"
cp -a "$top_srcdir/templates" "$tree/"
cp "$USERNODE" "$tree/usernode"
unit=${top_builddir:-.}/tests/unit/test-usernode
[ ! -x "$unit" ] || cp "$unit" "$tree/tests/unit/"

for t in probes.sh up-k3s.sh hostile.sh; do
        set +e
        top_srcdir=$tree top_builddir=$tree USERNODE=$tree/usernode bash "$tree/tests/integration/$t" >"$work/$t.log" 2>&1
        rc=$?
        set -e
        case $rc in
        0) echo "anywhere: $t passed from $tree" ;;
        77) skip "$t skips here, so it proves nothing about the tree's place: $(grep SKIP "$work/$t.log")" ;;
        *) fail "$t from a tree others cannot enter ($tree) exited $rc: $(tail -n 20 "$work/$t.log")" ;;
        esac
done
[ "$(stat -c %a "$work")" = 700 ] || fail "a test opened $work (now mode $(stat -c %a "$work"))"
echo "anywhere: ok"
