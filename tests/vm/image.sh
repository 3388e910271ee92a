#!/bin/bash
# Builds the Debian 12 guest image, or reuses the cached one, and prints its directory.
#
#   image.sh [--rebuild] [--print-key]
#
# The directory holds rootfs.ext4.zst (the cached artefact), rootfs.ext4 (its
# expansion, opened read-only by boot.sh), vmlinuz, initrd.img, packages.lock and key.
# It lives under ${USERNODE_VM_CACHE:-/var/cache/usernode-vm}/images/KEY, KEY being a
# sha256 of the package list, the hooks and this script. Needs root.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

rebuild=0
case ${1-} in
--print-key) vm_image_key; exit 0 ;;
--rebuild) rebuild=1 ;;
'') ;;
*) vm_die "usage: image.sh [--rebuild] [--print-key]" 2 ;;
esac

[ "$(id -u)" -eq 0 ] || vm_die "image.sh needs root (mmdebstrap, and an ext4 image with root-owned files)" 2
missing=$(vm_missing_tools)
[ -z "$missing" ] || vm_die "missing host tools: ${missing//$'\n'/ }" 2

key=$(vm_image_key)
images=$VM_CACHE/images
dir=$images/$key
mkdir -p "$images"

# One builder per key; a second run for the same key waits and then reuses.
exec 9>"$images/$key.lock"
if ! flock -n 9; then
	vm_log "waiting for another run building image ${key:0:12}"
	flock 9
fi

expand_image() {
	if [ ! -e "$dir/rootfs.ext4" ]; then
		vm_log "expanding rootfs.ext4 from the cached rootfs.ext4.zst"
		zstd -q -d --sparse -f "$dir/rootfs.ext4.zst" -o "$dir/rootfs.ext4.tmp"
		mv "$dir/rootfs.ext4.tmp" "$dir/rootfs.ext4"
	fi
	touch "$dir/last-used"
}

if [ "$rebuild" -eq 0 ] && [ -e "$dir/complete" ]; then
	expand_image
	vm_log "image ${key:0:12} from the cache"
	printf '%s\n' "$dir"
	exit 0
fi

mapfile -t sources < <(vm_apt_sources)
[ "${#sources[@]}" -gt 0 ] ||
	vm_die "the host's apt configuration has no $VM_SUITE source to build the guest from" 2

build=$(mktemp -d "$images/.build.XXXXXX")
trap 'rm -rf "$build"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$(vm_now)
vm_log "building image ${key:0:12} from: ${sources[*]}"

mkdir "$build/root"
mmdebstrap --variant=apt --mode=root --format=tar --architectures="$VM_ARCH" \
	--include="$(vm_packages | paste -sd, -)" \
	--aptopt='Acquire::Retries "3"' \
	--customize-hook="$VM_DIR/hooks/customize.sh" \
	"$VM_SUITE" - "${sources[@]}" 2>"$build/mmdebstrap.log" |
	tar -C "$build/root" -x --numeric-owner --xattrs --xattrs-include='*' -p ||
	{ tail -n 30 "$build/mmdebstrap.log" >&2; vm_die "mmdebstrap failed (log above)"; }
vm_log "mmdebstrap done after $(vm_elapsed "$started")s"

# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
chroot "$build/root" dpkg-query -W -f '${Package} ${Version}\n' >"$build/packages.lock"
cp "$build/root"/boot/vmlinuz-* "$build/vmlinuz"
cp "$build/root"/boot/initrd.img-* "$build/initrd.img"
chmod 0644 "$build/vmlinuz" "$build/initrd.img"

truncate -s "${USERNODE_VM_DISK_SIZE:-3G}" "$build/rootfs.ext4"
mkfs.ext4 -q -F -L usernode-root -d "$build/root" "$build/rootfs.ext4"
rm -rf "$build/root"
zstd -q -T0 "$build/rootfs.ext4" -o "$build/rootfs.ext4.zst"
mv "$build/mmdebstrap.log" "$build/build.log"
printf '%s\n' "$key" >"$build/key"
printf '%s\n' "${sources[@]}" >"$build/sources"
touch "$build/complete" "$build/last-used"

rm -rf "$dir"
mv "$build" "$dir"
trap - EXIT
vm_log "image ${key:0:12} built in $(vm_elapsed "$started")s ($(du -h "$dir/rootfs.ext4.zst" | cut -f1) compressed)"

# Drop images of other keys nobody used for two weeks, unless a run holds them.
find "$images" -mindepth 2 -maxdepth 2 -name last-used -mtime +14 -printf '%h\n' |
	while read -r old; do
		[ "$old" != "$dir" ] || continue
		(flock -n 8 && rm -rf "$old" && vm_log "pruned unused image ${old##*/}") 8>"$old.lock" || true
	done

printf '%s\n' "$dir"
