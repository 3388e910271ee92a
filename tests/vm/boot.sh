#!/bin/bash
# Boots the guest image with a payload disk and prints what the payload's run.sh printed.
#
#   boot.sh IMAGE_DIR PAYLOAD_DIR OUT_DIR [TIMEOUT]
#
# PAYLOAD_DIR must hold an executable run.sh; the guest runs it as root from /payload
# and its output, exit status and PAYLOAD/artifacts come back, read with debugfs, into
# OUT_DIR (out.log, rc, artifacts/), next to serial.log, qemu.log and timings.
# TIMEOUT (seconds, default 900) bounds each boot; the guest's own bound is 60 s less.
# Exit status: the guest's, 124 on a time limit, 3 when the harness itself failed.
#
# Accelerator: KVM only when the CPU shows vmx or svm and a boot with it reaches the
# runner; otherwise, or after a KVM "internal error" or hang, TCG. USERNODE_VM_ACCEL
# ("kvm tcg", "tcg", …) overrides the list of accelerators to try, in order;
# USERNODE_VM_CPU the -cpu model (host with KVM, max with TCG).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] || vm_die "usage: boot.sh IMAGE_DIR PAYLOAD_DIR OUT_DIR [TIMEOUT]" 2
image=$1 payload=$2 out=$3 limit=${4:-900}
for f in rootfs.ext4 vmlinuz initrd.img; do
	[ -r "$image/$f" ] || vm_die "$image/$f missing: run image.sh first" 2
done
[ -x "$payload/run.sh" ] || vm_die "$payload/run.sh missing or not executable" 2
mkdir -p "$out"
out=$(cd "$out" && pwd)

kvm_probe_limit=${USERNODE_VM_KVM_PROBE:-120}
qemu_pid=
trap '[ -z "$qemu_pid" ] || kill -KILL "$qemu_pid" 2>/dev/null || true' EXIT
# Bash skips the EXIT trap when a signal kills it: turn them into exits.
trap 'exit 130' INT
trap 'exit 143' TERM

accelerators() {
	if [ -n "${USERNODE_VM_ACCEL-}" ]; then
		echo "$USERNODE_VM_ACCEL"
	elif grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
		echo kvm tcg
	else
		echo tcg
	fi
}

# A fresh payload disk for every boot: the guest writes its results onto it.
make_payload_disk() {
	local stage size
	stage=$(mktemp -d "$out/.payload.XXXXXX")
	cp -a "$payload/." "$stage/"
	chmod 0755 "$stage"
	mkdir -p "$stage/.vm"
	echo $((limit > 120 ? limit - 60 : limit / 2)) >"$stage/.vm/timeout"
	# Room for what the guest writes back: logs, journal, artifacts.
	size=$(($(du -sm "$stage" | cut -f1) + 256))
	rm -f "$out/payload.img"
	truncate -s "${size}M" "$out/payload.img"
	mkfs.ext4 -q -F -L payload -d "$stage" "$out/payload.img"
	rm -rf "$stage"
}

stop_qemu() {
	kill -TERM "$qemu_pid" 2>/dev/null || return 0
	for _ in $(seq 20); do
		kill -0 "$qemu_pid" 2>/dev/null || return 0
		sleep 0.25
	done
	kill -KILL "$qemu_pid" 2>/dev/null || true
}

# Boots once. Returns 0 when QEMU powered off by itself, 124 on the time limit,
# 125 on an accelerator failure (KVM internal error, or no runner within the probe).
boot_once() {
	local accel=$1 started deadline probe_deadline script_at='' why
	local -a accel_args
	# shellcheck disable=SC2054 # commas are QEMU's option syntax
	case $accel in
	kvm) accel_args=(-accel kvm -cpu "${USERNODE_VM_CPU:-host}") ;;
	tcg) accel_args=(-accel tcg,thread=multi -cpu "${USERNODE_VM_CPU:-max}") ;;
	*) vm_die "unknown accelerator $accel" 2 ;;
	esac
	: >"$out/serial.log"
	: >"$out/qemu.log"
	started=$(vm_now)
	qemu-system-x86_64 -name usernode-vm -m "${USERNODE_VM_MEM:-2048}" -smp "${USERNODE_VM_CPUS:-2}" \
		"${accel_args[@]}" -nodefaults -display none -no-reboot -nic none \
		-serial "file:$out/serial.log" \
		-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw panic=-1 systemd.show_status=0" \
		-drive "file=$image/rootfs.ext4,if=virtio,format=raw,snapshot=on" \
		-drive "file=$out/payload.img,if=virtio,format=raw" \
		</dev/null >"$out/qemu.log" 2>&1 &
	qemu_pid=$!
	# Whole seconds of bash's own clock: no float formatting to get wrong.
	deadline=$((SECONDS + limit))
	probe_deadline=$((SECONDS + kvm_probe_limit))
	vm_log "QEMU $qemu_pid booting ($accel, limit ${limit}s)"

	while kill -0 "$qemu_pid" 2>/dev/null; do
		# KVM reports on QEMU's stderr; the console is the guest's (tests may print
		# "internal error" themselves), so only KVM's own wording counts there.
		if grep -qi 'internal error' "$out/qemu.log" || grep -q 'KVM internal error' "$out/serial.log"; then
			why=$(grep -hi 'internal error' "$out/qemu.log" "$out/serial.log" || true)
			vm_log "$accel: ${why%%$'\n'*}; killing QEMU $qemu_pid"
			stop_qemu
			wait "$qemu_pid" || true
			return 125
		fi
		if [ -z "$script_at" ] && grep -q 'usernode-vm: runner start' "$out/serial.log"; then
			script_at=$(vm_elapsed "$started")
			vm_log "guest runner started ${script_at}s after QEMU started"
			echo "boot_to_script_s=$script_at" >>"$out/timings"
		fi
		if [ "$accel" = kvm ] && [ -z "$script_at" ] && [ "$SECONDS" -ge "$probe_deadline" ]; then
			vm_log "kvm: no runner after ${kvm_probe_limit}s; killing QEMU $qemu_pid"
			stop_qemu
			wait "$qemu_pid" || true
			return 125
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			vm_log "time limit of ${limit}s reached; killing QEMU $qemu_pid"
			stop_qemu
			wait "$qemu_pid" || true
			return 124
		fi
		sleep 0.5
	done
	wait "$qemu_pid" || vm_log "QEMU exited with status $?: $(tail -n 3 "$out/qemu.log")"
	qemu_pid=
	if [ "$accel" = kvm ] && [ -z "$script_at" ]; then
		vm_log "kvm: QEMU ended before the runner started"
		return 125
	fi
	echo "accel=$accel" >>"$out/timings"
	echo "qemu_total_s=$(vm_elapsed "$started")" >>"$out/timings"
	vm_log "guest powered off after $(vm_elapsed "$started")s"
	return 0
}

read_back() {
	debugfs -R "cat /$1" "$out/payload.img" 2>/dev/null
}

: >"$out/timings"
status=3
for accel in $(accelerators); do
	status=0
	make_payload_disk
	boot_once "$accel" || status=$?
	[ "$status" -eq 125 ] || break
done
[ "$status" -ne 125 ] || vm_die "no accelerator booted the guest (see $out/serial.log, $out/qemu.log)"

rm -rf "$out/artifacts"
debugfs -R "rdump /artifacts $out" "$out/payload.img" >/dev/null 2>&1 || true
read_back out.log >"$out/out.log" || true
rc=$(read_back rc | tr -dc '0-9')
cat "$out/out.log"

if [ "$status" -eq 124 ]; then
	exit 124
elif [ -z "$rc" ]; then
	vm_log "the guest reported no result; last lines of $out/serial.log:"
	tail -n 20 "$out/serial.log" >&2
	exit 3
fi
exit "$rc"
