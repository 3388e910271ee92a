# Host-side helpers for the VM harness; sourced, not run.
# shellcheck shell=bash disable=SC2034 # variables are for the scripts that source this

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The guest's Debian: bookworm (12) for the whole scenario, trixie (13, the current stable) for its short form.
VM_SUITE=${USERNODE_VM_SUITE:-bookworm}
VM_ARCH=amd64
VM_CACHE=${USERNODE_VM_CACHE:-/var/cache/usernode-vm}

VM_T0=$(date +%s.%N)
vm_log() { printf 'vm: [%6ss] %s\n' "$(vm_elapsed "$VM_T0")" "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$1" >&2; exit "${2:-3}"; }

# Seconds since the epoch with a fraction, for timings.
vm_now() { date +%s.%N; }
vm_elapsed() { awk -v a="$1" -v b="$(vm_now)" 'BEGIN { printf "%.1f", b - a }'; }

# The guest's package list without comments and blanks: a line "NAME [SUITE]" only for that suite.
vm_packages() {
	sed -e 's/#.*//' "$VM_DIR/packages.txt" |
		awk -v s="[$VM_SUITE]" 'NF == 1 || (NF == 2 && $2 == s) { print $1 }'
}

# apt lines for the guest, taken from the host's own apt configuration (whatever
# format it uses), never hard-coded: the suite's, -updates and -security entries; for a
# suite the host does not list, the same mirrors with the host's Debian suite renamed.
vm_apt_sources() {
	local targets
	# shellcheck disable=SC2016 # apt's format, not the shell's
	targets=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		"Identifier: Packages" "Architecture: $VM_ARCH" 2>/dev/null) || true
	for from in "$VM_SUITE" bookworm; do
		awk -v s="$from" -v to="$VM_SUITE" '$2 == s || $2 == s "-updates" || $2 == s "-security" {
			sub("^" s, to, $2); print "deb " $1 " " $2 " " $3 }' <<<"$targets" | sort -u | grep . && return 0
	done
	return 0
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
