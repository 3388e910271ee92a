#!/bin/bash
# Runs in the guest, as root, from the payload disk (as its run.sh): installs the
# usernode build under test — payload/usernode_*.deb with dpkg, else the staged tree
# payload/root/ (make install DESTDIR=…) copied over / — then runs scenario.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
payload=${PAYLOAD:-$(dirname "$here")}
: "${ARTIFACTS:=$payload/artifacts}"
export ARTIFACTS
mkdir -p "$ARTIFACTS"

install_build() {
	local debs
	shopt -s nullglob
	debs=("$payload"/usernode_*.deb)
	if [ "${#debs[@]}" -gt 0 ]; then
		echo "install: dpkg -i ${debs[*]##*/}"
		# Runtime dependencies must be in the image already: the guest has no network.
		dpkg -i "${debs[@]}" >>"$ARTIFACTS/install.log" 2>&1
	elif [ -d "$payload/root" ]; then
		echo "install: the staged tree payload/root/ over /"
		# Root-owned whatever user staged it; directories that exist keep their modes.
		tar -C "$payload/root" -cf - . | tar -C / -xf - --no-same-owner --no-overwrite-dir
		ldconfig
	else
		echo "install: the payload has neither usernode_*.deb nor root/"
		return 1
	fi
}

if ! install_build; then
	echo "install: failed (artifacts/install.log):"
	tail -n 20 "$ARTIFACTS/install.log" 2>/dev/null | sed 's/^/    /'
	exit 3
fi
if command -v usernode >/dev/null; then
	version=$(usernode --version 2>&1 || true)
	echo "usernode: $(command -v usernode), ${version%%$'\n'*}"
else
	echo "usernode: not on PATH after the install; every step that runs it will fail"
fi
exec bash "$here/scenario.sh"
