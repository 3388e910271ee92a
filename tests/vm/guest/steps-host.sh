# Scenario steps about the host: check, setup, delegation, unsetup. Each runs in its
# own bash (see step.sh); MODE is "um" (alice's user manager runs) or "ci" (none).
# shellcheck shell=bash

# check_json FILE ARG...: usernode check ARG... --json into FILE; prints its exit status.
check_json() {
	local file=$1 rc=0
	shift
	usernode check "$@" --json >"$file" || rc=$?
	cat "$file" >&2
	echo "$rc"
}

# The first result, which unsetup must give back: not ready, delegation not in
# place, no cpuset or io limits.
assert_unprepared() {
	local file=$1 rc=$2 status
	[ "$rc" -eq 1 ] || fail "usernode check exited $rc, want 1"
	[ "$(report schema "$file")" = usernode.report/v1 ] || fail "schema is $(report schema "$file")"
	[ "$(report ready "$file")" = false ] || fail "ready is true"
	status=$(report check "$file" cgroup.delegation)
	[ "$status" != pass ] || fail "cgroup.delegation is pass"
	for feature in limits.cpuset limits.io; do
		status=$(report feature "$file" "$feature")
		[ "$status" = unavailable ] || fail "$feature is $status, want unavailable"
	done
}

# Ready, and every limits.* feature but hugepages available.
assert_prepared() {
	local file=$1 rc=$2 id status bad='' features
	[ "$rc" -eq 0 ] || fail "usernode check exited $rc, want 0"
	[ "$(report ready "$file")" = true ] || fail "ready is false"
	features=$(report features "$file" limits.)
	while read -r id status; do
		[ "$id" = limits.hugepages ] || [ "$status" = available ] || bad="$bad $id=$status"
	done <<<"$features"
	[ -z "$bad" ] || fail "not available:$bad"
	grep -q '^limits.memory ' <<<"$features" || fail "no limits.memory feature"
}

step_check_before() {
	local mode=$1 rc
	rc=$(check_json "$WORK/$mode.check-before.json" --user "$ALICE" --engine kubelet)
	snapshot_host "$WORK/$mode.host-before"
	assert_unprepared "$WORK/$mode.check-before.json" "$rc"
}

step_setup() {
	local mode=$1
	if [ "$mode" = um ]; then
		usernode setup --user "$ALICE"
	else
		usernode setup --user "$ALICE" --no-linger
	fi
	[ -e "/var/lib/usernode/setup/$ALICE.manifest" ] || fail "no /var/lib/usernode/setup/$ALICE.manifest"
	cat "/var/lib/usernode/setup/$ALICE.manifest"
}

# Without a reboot and without a login: linger alone must bring user@UID.service up
# with every controller delegated.
step_um_delegation() {
	local cg
	cg=$(user_cgroup)
	wait_until 60 systemctl -q is-active "user@$(alice_uid).service" ||
		fail "user@$(alice_uid).service is $(systemctl is-active "user@$(alice_uid).service")"
	wait_until 10 test -e "/sys/fs/cgroup$cg/cgroup.controllers" || fail "no cgroup $cg"
	[ "$(controllers_of "$cg")" = "$WANT_CONTROLLERS" ] ||
		fail "$cg has controllers '$(controllers_of "$cg")', want '$WANT_CONTROLLERS'"
	# systemd 256 and later give the user manager a session of its own, of class "manager": not a login.
	local id
	for id in $(loginctl list-sessions --no-legend | awk -v u="$ALICE" '$3 == u { print $1 }'); do
		[ "$(loginctl show-session "$id" -P Class)" = manager ] ||
			fail "$ALICE has a login session ($id); the point is to need none"
	done
}

step_um_linger() {
	[ "$(loginctl show-user "$ALICE" -P Linger)" = yes ] || fail "linger is not on for $ALICE"
	[ -e "/var/lib/systemd/linger/$ALICE" ] || fail "no /var/lib/systemd/linger/$ALICE"
}

step_ci_no_user_manager() {
	[ ! -e "/var/lib/systemd/linger/$ALICE" ] || fail "linger is on for $ALICE"
	if systemctl -q is-active "user@$(alice_uid).service"; then
		fail "user@$(alice_uid).service runs"
	fi
	[ ! -e "/run/user/$(alice_uid)/bus" ] || fail "/run/user/$(alice_uid)/bus exists"
}

step_ci_job_delegation() {
	local cg
	ci_job_start
	cg=$(cat "$WORK/ci.cgroup")
	systemctl status --no-pager "$CI_UNIT" || true
	[ "$(controllers_of "$cg")" = "$WANT_CONTROLLERS" ] ||
		fail "$cg has controllers '$(controllers_of "$cg")', want '$WANT_CONTROLLERS'"
	[ "$(stat -c %U "/sys/fs/cgroup$cg")" = "$ALICE" ] || fail "$cg is not $ALICE's"
	as_alice_ci sh -c 'id; env; cat /proc/self/cgroup'
}

step_check_after() {
	local mode=$1 rc=0 file=$WORK/$1.check-after.json
	if [ "$mode" = um ]; then
		rc=$(check_json "$file" --user "$ALICE" --engine kubelet)
		# Issue 14: what check sends to setup, setup has done.
		report unkept "$file" "usernode setup --user $ALICE" >"$WORK/um.unkept"
		[ ! -s "$WORK/um.unkept" ] || fail "after setup, checks still name it: $(cat "$WORK/um.unkept")"
	else
		# A CI job asks for itself, from inside its job.
		as_alice_ci usernode check --engine kubelet --json >"$file" || rc=$?
		cat "$file"
	fi
	assert_prepared "$file" "$rc"
}

step_unsetup() {
	local mode=$1
	[ "$mode" = um ] || ci_job_stop
	usernode unsetup --user "$ALICE"
	[ ! -e "/var/lib/usernode/setup/$ALICE.manifest" ] ||
		fail "/var/lib/usernode/setup/$ALICE.manifest is still there"
	snapshot_host "$WORK/$mode.host-after"
	if ! diff -u "$WORK/$mode.host-before" "$WORK/$mode.host-after"; then
		fail "files differ from before setup: $(diff "$WORK/$mode.host-before" "$WORK/$mode.host-after" |
			grep -c '^[<>]') lines (diff above)"
	fi
}

step_check_restored() {
	local mode=$1 rc file=$WORK/$1.check-restored.json
	# Linger off: logind stops the user manager; check must not see it. Not only no longer active: a manager
	# still deactivating (is-active already answers no) keeps its cgroup, which check rightly reads as delegation.
	wait_until 60 sh -c "case \$(systemctl show -P ActiveState user@$(alice_uid).service) in inactive | failed) ;; *) exit 1 ;; esac &&
		[ ! -e /sys/fs/cgroup$(user_cgroup) ]" ||
		fail "user@$(alice_uid).service still runs after unsetup: $(systemctl show -P ActiveState "user@$(alice_uid).service")"
	rc=$(check_json "$file" --user "$ALICE" --engine kubelet)
	assert_unprepared "$file" "$rc"
	if ! diff -u <(report signature "$WORK/$mode.check-before.json") <(report signature "$file"); then
		fail "check differs from its first result (diff above)"
	fi
}

# Issue 14: alice's manager already runs (linger on, Debian's own Delegate=pids memory cpu) when
# setup adds the drop-in. PID 1's daemon-reload gives user@UID.service's cgroup cpuset and io, but
# the running manager learnt what it may use when it started and never gives them to its units (k3s
# then died: "failed to find cpuset cgroup (v2)"). check must say so, and setup
# --restart-user-manager must fix it.
step_stale_manager_first() {
	loginctl enable-linger "$ALICE"
	wait_until 60 systemctl -q is-active "user@$(alice_uid).service" ||
		fail "user@$(alice_uid).service is $(systemctl is-active "user@$(alice_uid).service")"
	[ "$(controllers_of "$(user_cgroup)")" = "cpu memory pids" ] ||
		fail "$(user_cgroup) has '$(controllers_of "$(user_cgroup)")' before setup, want Debian's 'cpu memory pids'"
	systemctl show -P InvocationID "user@$(alice_uid).service" >"$WORK/stale.invocation"
}

step_stale_setup() {
	usernode setup --user "$ALICE" >"$WORK/stale.setup" 2>&1 || fail "setup failed: $(cat "$WORK/stale.setup")"
	cat "$WORK/stale.setup"
	grep -q "runs with the old delegation" "$WORK/stale.setup" || fail "setup did not say the manager runs with the old delegation"
	# What misled check before: the manager's cgroup has them all after the daemon-reload.
	[ "$(controllers_of "$(user_cgroup)")" = "$WANT_CONTROLLERS" ] ||
		fail "$(user_cgroup) has '$(controllers_of "$(user_cgroup)")' after setup, want '$WANT_CONTROLLERS'"
	[ "$(systemctl show -P InvocationID "user@$(alice_uid).service")" = "$(cat "$WORK/stale.invocation")" ] ||
		fail "setup restarted the manager without --restart-user-manager"
}

step_stale_check() {
	local file=$WORK/stale.check.json rc detail fix
	# For the record: what the manager has enabled so far (a lower bound of what it gives).
	cat "/sys/fs/cgroup$(user_cgroup)/cgroup.subtree_control"
	rc=$(check_json "$file" --user "$ALICE" --engine kubelet)
	[ "$rc" -eq 1 ] || fail "usernode check exited $rc, want 1"
	[ "$(report check "$file" cgroup.delegation)" = fail ] ||
		fail "cgroup.delegation is $(report check "$file" cgroup.delegation): $(report field "$file" cgroup.delegation detail)"
	detail=$(report field "$file" cgroup.delegation detail)
	case $detail in *"the running manager has cpu memory pids"*) ;; *) fail "detail: $detail" ;; esac
	fix=$(report field "$file" cgroup.delegation fix)
	case $fix in *"usernode setup --user $ALICE --restart-user-manager"*) ;; *) fail "fix: $fix" ;; esac
	[ "$(report check "$file" cgroup.controller.cpuset)" = fail ] || fail "cgroup.controller.cpuset is not fail"
	[ "$(report feature "$file" limits.cpuset)" = unavailable ] || fail "limits.cpuset is not unavailable"
}

# A new invocation of alice's manager, up and running.
stale_manager_restarted() {
	[ "$(systemctl show -P InvocationID "user@$(alice_uid).service")" != "$(cat "$WORK/stale.invocation")" ] &&
		systemctl -q is-active "user@$(alice_uid).service"
}

step_stale_restart() {
	local file=$WORK/stale.restarted.json rc
	usernode setup --user "$ALICE" --restart-user-manager >"$WORK/stale.restart" 2>&1 ||
		fail "setup --restart-user-manager failed: $(cat "$WORK/stale.restart")"
	cat "$WORK/stale.restart"
	wait_until 60 stale_manager_restarted || fail "setup --restart-user-manager did not restart the manager"
	rc=$(check_json "$file" --user "$ALICE" --engine kubelet)
	[ "$(report check "$file" cgroup.delegation)" = pass ] ||
		fail "cgroup.delegation is $(report check "$file" cgroup.delegation): $(report field "$file" cgroup.delegation detail)"
	[ "$(report feature "$file" limits.cpuset)" = available ] || fail "limits.cpuset is not available"
	[ "$rc" -eq 0 ] || fail "usernode check exited $rc, want 0"
	# Nothing more to do now: a rerun neither restarts nor complains.
	usernode setup --user "$ALICE" --restart-user-manager >"$WORK/stale.rerun" 2>&1 || fail "rerun failed"
	grep -q "nothing to do" "$WORK/stale.rerun" || fail "rerun: $(cat "$WORK/stale.rerun")"
}

step_stale_cleanup() {
	usernode unsetup --user "$ALICE"
	loginctl disable-linger "$ALICE"
}
