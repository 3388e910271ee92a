#!/bin/sh
# The version of any tree starts with a digit, as dpkg and rpm require: the one configure computed
# for this build, and the one of a "git archive" export of HEAD (no .git, no .tarball-version:
# what a forge's tarball or a distribution's snapshot gives), which is the base version declared
# in configure.ac with "~unknown". autoconf --trace gives AC_INIT's version without a whole
# autoreconf.
. "${top_srcdir:-.}/tests/integration/lib.sh"

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "${top_builddir:-.}/config.h")
case $version in
[0-9]*) ;;
*) fail "configure called this tree's version '$version': it does not start with a digit" ;;
esac

[ -e "$top_srcdir/.git" ] || skip "$top_srcdir is not a git checkout: no export to make (its version: $version)"
command -v git >/dev/null || skip "git is not installed"
command -v autoconf >/dev/null || skip "autoconf is not installed"
work=$(mktemp -d "${TMPDIR:-/tmp}/usernode-version.XXXXXX")
trap 'rm -rf "$work"' EXIT

git -C "$top_srcdir" archive --prefix=export/ -o "$work/export.tar" HEAD
tar -x -C "$work" -f "$work/export.tar"
[ ! -e "$work/export/.git" ] && [ ! -e "$work/export/.tarball-version" ] ||
        fail "the export has .git or .tarball-version: it does not test the fallback"
base=$(sed -n 's/^m4_define(\[usernode_base_version\], \[\([^]]*\)\])$/\1/p' "$work/export/configure.ac")
[ -n "$base" ] || fail "configure.ac declares no usernode_base_version"
# shellcheck disable=SC2016 # $2 is autoconf's trace format: AC_INIT's second argument
exported=$(cd "$work/export" && autoconf --trace='AC_INIT:$2' configure.ac)
[ "$exported" = "$base~unknown" ] || fail "the export's version is '$exported', expected '$base~unknown'"
echo "version: this build $version, a git archive export $exported"
