#!/bin/sh
# The command line contract: verbs, --help, --version, exit codes for usage errors.
. "${top_srcdir:-.}/tests/integration/lib.sh"

out=$("$USERNODE" --version)
case $out in "usernode "[0-9]*) ;; *) fail "--version printed '$out'" ;; esac

"$USERNODE" --help | grep -q '^  check ' || fail "--help does not list check"
"$USERNODE" check --help | grep -q -- '--ignore' || fail "check --help does not list --ignore"
"$USERNODE" --help check >/dev/null

expect_exit 2 "$USERNODE"
expect_exit 2 "$USERNODE" frobnicate
expect_exit 2 "$USERNODE" check --no-such-option
expect_exit 2 "$USERNODE" check --engine docker
expect_exit 2 "$USERNODE" check --ignore 'bad id!'
expect_exit 2 "$USERNODE" check --root /nonexistent/dir
expect_exit 2 "$USERNODE" check --user 'no:such:user'
expect_exit 2 "$USERNODE" check --user nosuchuser12345
expect_exit 2 "$USERNODE" check extra-argument
expect_exit 2 "$USERNODE" check --ignore no.such.check --no-probes
echo "cli: ok"
