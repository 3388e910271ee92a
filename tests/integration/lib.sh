# Shared helpers for the integration scripts (sourced). Exit 77 means SKIP to automake.
set -eu

: "${USERNODE:=${top_builddir:-.}/usernode}"
: "${top_srcdir:=.}"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# expect_exit CODE CMD...: runs CMD, fails unless it exits with CODE.
expect_exit() {
        want=$1; shift
        set +e
        "$@"
        got=$?
        set -e
        [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}
