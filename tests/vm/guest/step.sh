# The guest's step runner; sourced by scenario.sh and smoke.sh.
# shellcheck shell=bash
#
# step NAME LIMIT FUNCTION [ARG...] runs FUNCTION in a fresh bash (the calling script
# again, with --step), under a time limit of LIMIT seconds, its traced output in
# $ARTIFACTS/steps/NN-NAME.log, and prints one line: STEP NAME ... ok|FAIL|skipped (Ns).
# A failed or skipped step adds one indented line saying why; a step skips by exiting 77
# (skip REASON). Steps share state through files in $WORK only.

STEP_SELF=$(readlink -f "$0")
: "${ARTIFACTS:=/tmp/usernode-vm-artifacts}" "${WORK:=/run/usernode-vm}"
export ARTIFACTS WORK
STEP_LOGS=$ARTIFACTS/steps
STEP_PASSED=0 STEP_FAILED=0 STEP_SKIPPED=0 STEP_COUNT=0

# In the child: run the function named after --step, traced, and exit.
step_dispatch() {
	[ "${1-}" = --step ] || return 0
	shift
	PS4='+ ${FUNCNAME[0]:-step}: '
	set -x
	"$@"
	exit 0
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

step() {
	local name=$1 limit=$2 log started secs rc=0 why
	shift 2
	STEP_COUNT=$((STEP_COUNT + 1))
	mkdir -p "$STEP_LOGS" "$WORK"
	log=$(printf '%s/%02d-%s.log' "$STEP_LOGS" "$STEP_COUNT" "$name")
	started=$(date +%s.%N)
	timeout -k 5 "$limit" bash "$STEP_SELF" --step "$@" >"$log" 2>&1 </dev/null || rc=$?
	secs=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if [ "$rc" -eq 0 ]; then
		STEP_PASSED=$((STEP_PASSED + 1))
		printf 'STEP %s ... ok (%ss)\n' "$name" "$secs"
		return 0
	fi
	if [ "$rc" -eq 77 ]; then
		STEP_SKIPPED=$((STEP_SKIPPED + 1))
		printf 'STEP %s ... skipped (%ss)\n    %s\n' "$name" "$secs" "$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)"
		return 0
	fi
	STEP_FAILED=$((STEP_FAILED + 1))
	printf 'STEP %s ... FAIL (%ss)\n' "$name" "$secs"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${limit}s"
	else
		why=$(sed -n 's/^FAIL: //p' "$log" | tail -n 1)
		[ -n "$why" ] || why=$(sed '/^+/d' "$log" | tail -n 1)
		[ -n "$why" ] || why="exit status $rc"
	fi
	printf '    %s (%s)\n' "$why" "${log#"$ARTIFACTS"/}"
	return 0
}

# Prints "N passed, N failed" (", N skipped" when any did); fails when a step failed.
step_summary() {
	printf '%d passed, %d failed' "$STEP_PASSED" "$STEP_FAILED"
	[ "$STEP_SKIPPED" -eq 0 ] || printf ', %d skipped' "$STEP_SKIPPED"
	printf '\n'
	[ "$STEP_FAILED" -eq 0 ]
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.2 s, untraced, until it
# succeeds; fails when it did not within SECONDS.
wait_until() {
	local deadline=$((SECONDS + $1)) traced=${-//[^x]/} rc=0
	shift
	{ set +x; } 2>/dev/null
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			rc=1
			break
		fi
		sleep 0.2
	done
	[ -z "$traced" ] || set -x
	return "$rc"
}
