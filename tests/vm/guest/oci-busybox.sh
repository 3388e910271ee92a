#!/bin/bash
# Builds a registry-free OCI image archive from Debian's busybox-static: one layer
# with /bin/busybox and its applet links, named docker.io/library/busybox:usernode-vm
# for "ctr images import".
#
#   oci-busybox.sh OUT.tar
set -euo pipefail

out=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/oci/blobs/sha256"
chmod 1777 "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
# The applet links in one process: a loop of ln takes ~20 s under TCG, and
# "busybox --install" links to wherever the running busybox is.
# shellcheck disable=SC2046 # one argument per applet
python3 -c 'import os, sys
for applet in sys.argv[2:]:
    if applet != "busybox":
        os.symlink("busybox", os.path.join(sys.argv[1], applet))' "$work/rootfs/bin" $(/bin/busybox --list)

# blob FILE: moves FILE into the blob store, prints "DIGEST SIZE".
blob() {
	local digest size
	digest=$(sha256sum "$1" | cut -d' ' -f1)
	size=$(stat -c %s "$1")
	mv "$1" "$work/oci/blobs/sha256/$digest"
	echo "$digest $size"
}

tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$work/rootfs" -cf "$work/layer.tar" .
read -r layer layer_size < <(blob "$work/layer.tar")
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$layer" >"$work/config.json"
read -r config config_size < <(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
	"$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
read -r manifest manifest_size < <(blob "$work/manifest.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/library/busybox:usernode-vm","org.opencontainers.image.ref.name":"usernode-vm"}}]}' \
	"$manifest" "$manifest_size" >"$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
tar --numeric-owner --owner=0 --group=0 -C "$work/oci" -cf "$out" oci-layout index.json blobs
