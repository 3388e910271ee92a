#!/bin/bash
# Assembles a payload directory for boot.sh: the guest scripts, the stand-ins, and
# either the usernode build under test or, with --smoke, the harness's own test.
#
#   payload.sh OUT_DIR BUILD      BUILD: a usernode_*.deb, or a DESTDIR tree
#   payload.sh OUT_DIR --smoke
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || vm_die "usage: payload.sh OUT_DIR BUILD|--smoke" 2
out=$1 build=$2
rm -rf "$out"
mkdir -p "$out/vm/guest" "$out/stand-ins"
cp "$VM_DIR"/scenario.sh "$VM_DIR"/smoke.sh "$VM_DIR"/guest-run.sh "$out/vm/"
cp "$VM_DIR"/guest/* "$out/vm/guest/"
cp "$VM_DIR"/../stand-ins/* "$out/stand-ins/"

case $build in
--smoke)
	entry=smoke.sh
	;;
*.deb)
	[ -f "$build" ] || vm_die "$build: no such package" 2
	base=${build##*/}
	cp "$build" "$out/usernode_${base#usernode_}"
	entry=guest-run.sh
	;;
*)
	[ -d "$build" ] || vm_die "$build: neither a .deb nor a DESTDIR tree" 2
	mkdir "$out/root"
	tar -C "$build" -cf - . | tar -C "$out/root" -xf -
	entry=guest-run.sh
	;;
esac
# shellcheck disable=SC2016 # expanded in the guest
printf '#!/bin/bash\ncd "$(dirname "$0")" && exec bash vm/%s\n' "$entry" >"$out/run.sh"
chmod 0755 "$out/run.sh"
