#!/bin/bash
# The scenario of issue 5, inside the guest, as root: usernode check, setup, a node
# with a memory-limited container, down, unsetup — once with alice's user manager
# (linger, as after a real setup), once CI style (no linger, no user bus, a job
# service with delegated controllers) for the direct-supervision path. With real
# Kubernetes binaries on the payload disk (issue 15), alice's manager also runs a
# node that joins a real control plane, with pods whose limits the kernel enforces,
# then a node that brings its own cluster (no --server), with CoreDNS.
# One line per step, then "N passed, N failed"; exits 1 when a step failed.
# Step logs: $ARTIFACTS/steps/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/guest/step.sh"
. "$here/guest/host.sh"
. "$here/guest/prepare.sh"
. "$here/guest/steps-host.sh"
. "$here/guest/steps-node.sh"
. "$here/guest/steps-real.sh"
. "$here/guest/steps-vanilla.sh"
. "$here/guest/steps-stable.sh"
. "$here/guest/steps-k3s.sh"
step_dispatch "$@"

step prepare 120 prepare_guest

# The current Debian stable (13): the default up with the user manager, a container with a memory limit,
# down --purge, unsetup; what its rootlesskit 2 and pasta change; with real Kubernetes, a cluster of its own.
. /etc/os-release
if [ "$VERSION_CODENAME" = trixie ]; then
	step um.check-before 60 step_check_before um
	step um.setup 120 step_setup um
	step um.delegation-live 90 step_um_delegation
	step um.check-after 60 step_check_after um
	step stable.net-driver 60 step_stable_net_driver
	step um.up 300 step_up um
	step um.kubelet-recorded 30 step_kubelet_recorded
	step um.container-memory-max 180 step_container_memory_max um
	step um.down-purge 120 step_down_purge um
	step stable.pasta-implicit 300 step_stable_pasta_implicit
	step um.unsetup-restores 120 step_unsetup um
	step um.check-restored 90 step_check_restored um
	if [ -z "$(real_unavailable)" ]; then
		step real.setup 120 step_real_setup
		step vanilla.images 120 step_vanilla_images
		step vanilla.up 900 step_vanilla_up
		step vanilla.node-labels 120 step_vanilla_node_labels
		step vanilla.pod-limits 600 step_vanilla_pod_limits
		step vanilla.workers 1500 step_vanilla_workers
		step vanilla.down-purge 300 step_vanilla_down_purge
		steps_k3s
		step real.cleanup 180 step_real_cleanup
		[ ! -s "$WORK/real.report" ] || cat "$WORK/real.report"
	else
		step real.kubernetes 10 step_real_skip
	fi
	step_summary
	exit
fi

# Alice's user manager runs (linger), as setup leaves it.
step um.check-before 60 step_check_before um
step um.setup 120 step_setup um
step um.delegation-live 90 step_um_delegation
step um.linger 30 step_um_linger
step um.check-after 60 step_check_after um
step um.as-alice 60 step_um_as_alice
step um.up 300 step_up um
step um.kubelet-recorded 30 step_kubelet_recorded
step um.container-memory-max 180 step_container_memory_max um
step um.container-oom-kill 120 step_container_oom_kill um
step um.down-purge 120 step_down_purge um
step um.unsetup-restores 120 step_unsetup um
step um.check-restored 90 step_check_restored um

# CI style: no linger, no user manager, no user bus; a job service of alice's.
step ci.check-before 60 step_check_before ci
step ci.setup 120 step_setup ci
step ci.no-user-manager 30 step_ci_no_user_manager
step ci.job-delegation 60 step_ci_job_delegation
step ci.check-after 60 step_check_after ci
step ci.up 300 step_up ci
step ci.kubelet-recorded 30 step_kubelet_recorded
step ci.container-memory-max 180 step_container_memory_max ci
step ci.container-oom-kill 120 step_container_oom_kill ci
step ci.down-purge 120 step_down_purge ci
step ci.unsetup-restores 120 step_unsetup ci
step ci.check-restored 90 step_check_restored ci

# Issue 14: the manager runs before setup; check tells, setup --restart-user-manager fixes.
step stale.manager-first 90 step_stale_manager_first
step stale.setup 120 step_stale_setup
step stale.check 60 step_stale_check
step stale.restart 120 step_stale_restart
step stale.cleanup 60 step_stale_cleanup

# Issue 15: real Kubernetes as alice's user unit, when the payload has its binaries. Last, with a
# setup of its own: the node's iptables load nf_tables, which would change the check results that
# the sections above compare with their first.
if [ -n "$(real_unavailable)" ]; then
	step real.kubernetes 10 step_real_skip
else
	step real.setup 120 step_real_setup
	step real.control-plane 900 step_real_control_plane
	step real.up 600 step_real_up
	step real.node-labels 120 step_real_node_labels
	step real.images 300 step_real_images
	step real.pod-limits 420 step_real_pod_limits
	step real.pod-oom 300 step_real_pod_oom
	step real.down-purge 240 step_real_down_purge
	step real.control-plane-stop 120 step_real_control_plane_stop
	# A node that brings its own cluster (no --server): etcd, the API server, the controller-manager, the
	# scheduler, the kubelet, kube-proxy and CoreDNS, all in alice's unit; under TCG each Go binary's start
	# takes seconds, hence the limits.
	step vanilla.images 120 step_vanilla_images
	step vanilla.up 900 step_vanilla_up
	step vanilla.node-labels 120 step_vanilla_node_labels
	step vanilla.pod-limits 600 step_vanilla_pod_limits
	step vanilla.coredns-up 900 step_vanilla_coredns_up
	step vanilla.dns 900 step_vanilla_dns
	step vanilla.down-purge 300 step_vanilla_down_purge
	steps_k3s
	step real.cleanup 180 step_real_cleanup
	# What the real part measured: TIMING lines go to the host's timings too (check-vm.sh).
	[ ! -s "$WORK/real.report" ] || cat "$WORK/real.report"
fi

step_summary
