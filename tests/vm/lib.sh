# Host-side helpers for the VM harness; sourced, not run.
# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_SUITE=bookworm
VM_ARCH=amd64
VM_CACHE=${USERNODE_VM_CACHE:-/var/cache/usernode-vm}

VM_T0=$(date +%s.%N)
vm_log() { printf 'vm: [%6ss] %s\n' "$(vm_elapsed "$VM_T0")" "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$1" >&2; exit "${2:-3}"; }

# Seconds since the epoch with a fraction, for timings.
vm_now() { date +%s.%N; }
vm_elapsed() { awk -v a="$1" -v b="$(vm_now)" 'BEGIN { printf "%.1f", b - a }'; }

# The guest's package list without comments and blanks.
vm_packages() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$VM_DIR/packages.txt"; }

# apt lines for the guest, taken from the host's own apt configuration (whatever
# format it uses), never hard-coded: the bookworm, -updates and -security entries.
vm_apt_sources() {
	# shellcheck disable=SC2016 # apt's format, not the shell's
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		"Identifier: Packages" "Architecture: $VM_ARCH" 2>/dev/null |
		awk -v s="$VM_SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security" {
			print "deb " $1 " " $2 " " $3 }' | sort -u
}

# The cache key: what decides the image's content (suite, architecture, packages,
# the build script and its hooks); not these host-side helpers.
vm_image_key() {
	{
		printf 'suite %s arch %s\n' "$VM_SUITE" "$VM_ARCH"
		vm_packages
		for f in "$VM_DIR/image.sh" "$VM_DIR"/hooks/*; do
			printf '%s\n' "${f##*/}"
			cat "$f"
		done
	} | sha256sum | cut -c1-64
}

# Missing host tools, one per line; empty when the harness can run.
vm_missing_tools() {
	local t
	for t in qemu-system-x86_64 mmdebstrap debugfs mkfs.ext4 zstd flock timeout apt-get; do
		command -v "$t" >/dev/null 2>&1 || printf '%s\n' "$t"
	done
}
