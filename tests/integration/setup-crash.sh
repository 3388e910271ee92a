#!/bin/sh
# Crash consistency: a usernode built with --enable-test-hooks dies (_exit) at each step of a setup
# (USERNODE_TEST_CRASH_AT); after every death each file is the old or the new version, a rerun
# completes with the same files as an uninterrupted run, and unsetup then restores the original files.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/setup-lib.sh"
need_root "$@"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The hooks are compiled out of the normal build: compile a second usernode with them, from the
# same sources and this build's config.h (a second configure would refuse an in-tree build).
hooked=${USERNODE_HOOKED:-}
if [ -z "$hooked" ]; then
        libs=${USERNODE_PKG_MODULES:?the pkg-config modules, from configure through make check}
        hooked=$work/usernode-hooked
        # shellcheck disable=SC2046 # word splitting of pkg-config output is intended
        ${CC:-cc} -std=gnu11 -O1 -DENABLE_TEST_HOOKS=1 -include "$top_builddir/config.h" -I"$top_builddir" \
                $(for d in "$top_srcdir"/src "$top_srcdir"/src/*/; do printf -- '-I%s ' "$d"; done) \
                -DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" \
                $(pkg-config --cflags $libs) "$top_srcdir"/src/*.c "$top_srcdir"/src/*/*.c $(pkg-config --libs $libs) \
                -o "$hooked" > "$work/cc.log" 2>&1 || { cat "$work/cc.log" >&2; fail "cannot compile the test-hooks binary"; }
fi

files() { (cd "$1" && find . -type f ! -name '*.lock' | LC_ALL=C sort); }

make_root "$work/orig"
cp -a "$work/orig" "$work/ref"
USERNODE_TEST_TRACE=$work/steps "$hooked" setup --root "$work/ref" --user alice --fast-net > /dev/null ||
        fail "uninterrupted setup failed"
grep -q '^manifest$' "$work/steps" || fail "the hooked binary traced no steps (hooks not compiled in?)"
n=0
while read -r step; do
        n=$((n + 1))
        R=$work/crash$n
        rm -rf "$R"
        cp -a "$work/orig" "$R"
        set +e
        USERNODE_TEST_CRASH_AT=$step "$hooked" setup --root "$R" --user alice --fast-net > /dev/null 2>&1
        rc=$?
        set -e
        [ "$rc" -eq 99 ] || fail "step $step: exit $rc, expected the hook's 99"
        # Each file is either the old or the new version.
        for f in $( (files "$work/orig"; files "$work/ref") | sort -u); do
                if [ -e "$R/$f" ]; then
                        cmp -s "$R/$f" "$work/orig/$f" 2>/dev/null || cmp -s "$R/$f" "$work/ref/$f" ||
                                fail "step $step: $f is neither the old nor the new version"
                fi
        done
        "$hooked" setup --root "$R" --user alice --fast-net > /dev/null || fail "step $step: the rerun failed"
        [ -z "$(find "$R/etc" -maxdepth 1 -name '*.lock')" ] || fail "step $step: a stale lock survived the rerun"
        for f in $(files "$work/ref"); do
                case $f in
                # A crash between creating the manifest's directory and writing the manifest leaves
                # that directory unrecorded: the "dir" records may differ, nothing else.
                *.manifest) grep -v '^dir ' "$R/$f" > "$work/m1"; grep -v '^dir ' "$work/ref/$f" > "$work/m2"
                            cmp -s "$work/m1" "$work/m2" || fail "step $step: $f differs" ;;
                *) cmp -s "$R/$f" "$work/ref/$f" || fail "step $step: $f differs from an uninterrupted setup" ;;
                esac
        done
        [ "$(files "$R")" = "$(files "$work/ref")" ] || fail "step $step: different set of files"
        "$hooked" unsetup --root "$R" --user alice > /dev/null || fail "step $step: unsetup failed"
        [ "$(files "$R")" = "$(files "$work/orig")" ] || fail "step $step: unsetup left files behind"
        for f in $(files "$work/orig"); do
                cmp -s "$R/$f" "$work/orig/$f" || fail "step $step: $f not restored by unsetup"
        done
        rm -rf "$R"
done < "$work/steps"
[ "$n" -ge 8 ] || fail "only $n steps traced"
echo "setup-crash: $n crash points ok"
