#!/bin/bash
# mmdebstrap customize hook: $1 is the guest's root directory (on the host).
set -euo pipefail

root=$1
here=$(cd "$(dirname "$0")" && pwd)
in_guest() { chroot "$root" "$@"; }

echo usernode-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tusernode-vm\n::1\tlocalhost ip6-localhost\n' >"$root/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
in_guest passwd -d root

# /etc/machine-id is left empty by mmdebstrap: not a first boot (no presets that
# would re-enable the units disabled below), a fresh id every boot.

install -m 0755 "$here/usernode-vm-runner" "$root/usr/local/sbin/usernode-vm-runner"
install -m 0644 "$here/usernode-vm-runner.service" "$root/etc/systemd/system/usernode-vm-runner.service"
in_guest systemctl enable usernode-vm-runner.service
in_guest systemctl mask serial-getty@ttyS0.service

# Nothing the tests do not start themselves: each costs seconds of boot under TCG.
for unit in containerd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
	fstrim.timer man-db.timer dpkg-db-backup.timer; do
	if [ -e "$root/lib/systemd/system/$unit" ]; then
		in_guest systemctl disable "$unit"
	fi
done
