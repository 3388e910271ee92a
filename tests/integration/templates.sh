#!/bin/sh
# The templates are compiled into usernode: the binary of the build tree renders them with no
# USERNODE_TEMPLATE_DIR and nothing installed (setup --dry-run on an AppArmor-restricted Ubuntu
# fixture prints the profile), and check's templates.override passes. With USERNODE_TEMPLATE_DIR
# the files there win and templates.override warns; a directory that lacks one fails the check and
# makes setup's error name the variable.
. "${top_srcdir:-.}/tests/integration/lib.sh"

fixture=$top_srcdir/tests/fixtures/ubuntu2404-apparmor
[ -f "$fixture/base" ] || skip "no ubuntu2404-apparmor fixture"
work=$(mktemp -d "${TMPDIR:-/tmp}/usernode-templates.XXXXXX")
trap 'rm -rf "$work"' EXIT
host=$work/host
mkdir "$host"
cp -a "$top_srcdir/tests/fixtures/$(cat "$fixture/base")/root/." "$fixture/root/." "$host/"
unset USERNODE_TEMPLATE_DIR

# check_override DIR: templates.override's status with USERNODE_TEMPLATE_DIR=DIR ("" for unset).
check_override() {
        USERNODE_TEMPLATE_DIR=$1 "$USERNODE" check --root "$host" --user alice >"$work/check" 2>&1 || true
        sed -n 's/^templates\.override  *\([a-z]*\) .*/\1/p' "$work/check"
}

# Compiled in.
"$USERNODE" setup --dry-run --root "$host" --user alice >"$work/setup" 2>&1 ||
        { cat "$work/setup"; fail "setup --dry-run without USERNODE_TEMPLATE_DIR failed"; }
grep -q '^+profile usernode-rootlesskit /usr/bin/rootlesskit ' "$work/setup" ||
        { cat "$work/setup"; fail "setup --dry-run rendered no AppArmor profile from the compiled-in template"; }
[ "$(check_override "")" = pass ] || { cat "$work/check"; fail "templates.override does not pass without an override"; }

# An override with every template, the AppArmor one changed.
mkdir "$work/override"
cp "$top_srcdir"/templates/*.in "$work/override/"
sed -i 's/^  userns,$/  userns, # from the override/' "$work/override/apparmor-userns.in"
USERNODE_TEMPLATE_DIR=$work/override "$USERNODE" setup --dry-run --root "$host" --user alice >"$work/setup" 2>&1 ||
        { cat "$work/setup"; fail "setup --dry-run with a complete override failed"; }
grep -q '^+  userns, # from the override$' "$work/setup" ||
        { cat "$work/setup"; fail "setup --dry-run did not render the override's AppArmor template"; }
[ "$(check_override "$work/override")" = warn ] || { cat "$work/check"; fail "templates.override does not warn with an override"; }
grep -q "USERNODE_TEMPLATE_DIR=$work/override.*1 of [0-9]* differ" "$work/check" ||
        { cat "$work/check"; fail "templates.override does not name the override and count what differs"; }

# An override that lacks the AppArmor template.
rm "$work/override/apparmor-userns.in"
[ "$(check_override "$work/override")" = fail ] || { cat "$work/check"; fail "templates.override does not fail for a missing template"; }
grep -q 'lacks apparmor-userns.in' "$work/check" || { cat "$work/check"; fail "templates.override does not name the missing template"; }
set +e
USERNODE_TEMPLATE_DIR=$work/override "$USERNODE" setup --dry-run --root "$host" --user alice >"$work/setup" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "setup --dry-run succeeded without the AppArmor template"
grep -q 'USERNODE_TEMPLATE_DIR' "$work/setup" || { cat "$work/setup"; fail "setup's error does not name USERNODE_TEMPLATE_DIR"; }
echo "templates: compiled in, overridden, and a missing one reported"
