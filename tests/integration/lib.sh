# Shared helpers for the integration scripts (sourced). Exit 77 means SKIP to automake.
set -eu

: "${USERNODE:=${top_builddir:-.}/usernode}"
: "${top_srcdir:=.}"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# expect_exit CODE CMD...: runs CMD, fails unless it exits with CODE.
expect_exit() {
        want=$1; shift
        set +e
        "$@"
        got=$?
        set -e
        [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# The ordinary user the rootless tests run as, with a sub-ID range as Debian's useradd makes one.
TEST_USER=usernode-test

# ensure_test_user: (as root) creates TEST_USER if needed, gives it sub-UID/GID ranges past every
# range there (so they overlap none), and makes /dev/net/tun and /dev/fuse usable as Debian's
# udev rules would on a normal host. Skips the test when any of that is impossible.
ensure_test_user() {
        [ "$(id -u)" -eq 0 ] || skip "needs root to create $TEST_USER"
        id "$TEST_USER" >/dev/null 2>&1 || useradd -m "$TEST_USER" 2>/dev/null ||
                id "$TEST_USER" >/dev/null 2>&1 || skip "cannot create $TEST_USER"
        for f in /etc/subuid /etc/subgid; do
                grep -q "^$TEST_USER:" "$f" 2>/dev/null && continue
                start=$(awk -F: 'BEGIN { m = 100000 } { e = $2 + $3; if (e > m) m = e } END { print m }' \
                        /etc/subuid /etc/subgid 2>/dev/null)
                opt=--add-subuids
                [ "$f" = /etc/subgid ] && opt=--add-subgids
                usermod "$opt" "$start-$((start + 65535))" "$TEST_USER" || skip "cannot add a range to $f"
        done
        chmod 0666 /dev/net/tun 2>/dev/null || :
        [ ! -e /dev/fuse ] || chmod 0666 /dev/fuse 2>/dev/null || :
}

# reachable_copy DIR: (as root) what the test runs as other users (TEST_USER, nobody) is usernode, the unit
# test binary and this tree's scripts and templates. Where others cannot walk to them (a clone in root's
# 0700 home or in a fresh `mktemp -d`), DIR, the test's own directory, gets a copy of them, and USERNODE,
# top_srcdir and top_builddir name the copy from here on. No directory of the tree or of a user is opened.
reachable_copy() {
        dir=$1
        [ "$(id -u)" -eq 0 ] || return 0
        if setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
                'test -x "$1" && test -r "$2/tests/integration/lib.sh"' sh "$USERNODE" "$top_srcdir" 2>/dev/null; then
                return 0
        fi
        chmod 0755 "$dir"
        mkdir -p "$dir/tree"
        cp -a "$top_srcdir/tests" "$dir/tree/"
        [ ! -d "$top_srcdir/templates" ] || cp -a "$top_srcdir/templates" "$dir/tree/"
        [ ! -x "${top_builddir:-.}/tests/unit/test-usernode" ] ||
                cp "${top_builddir:-.}/tests/unit/test-usernode" "$dir/tree/tests/unit/"
        cp "$USERNODE" "$dir/tree/usernode"
        chmod -R a+rX "$dir/tree"
        USERNODE=$dir/tree/usernode top_srcdir=$dir/tree top_builddir=$dir/tree
        export USERNODE top_srcdir top_builddir
}

# veth_hosts NS_A NS_B ADDR_A/PREFIX ADDR_B/PREFIX [MTU]: two network namespaces of the test's own joined by a
# veth pair, their loopback up: hosts whose traffic never leaves the machine. The caller deletes them.
veth_hosts() {
        ip netns add "$1"
        ip netns add "$2"
        ip link add "uvh$$" ${5:+mtu "$5"} type veth peer name "uvp$$" ${5:+mtu "$5"}
        ip link set "uvh$$" netns "$1"
        ip link set "uvp$$" netns "$2"
        ip -n "$1" addr add "$3" dev "uvh$$"
        ip -n "$2" addr add "$4" dev "uvp$$"
        for ns in "$1" "$2"; do
                ip -n "$ns" link set lo up
        done
        ip -n "$1" link set "uvh$$" up
        ip -n "$2" link set "uvp$$" up
}

# as_test_user CMD...: runs CMD as TEST_USER with a clean login-like environment (extra VAR=value
# words may come first, as with env).
as_test_user() {
        setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups \
                env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)" \
                USER="$TEST_USER" LOGNAME="$TEST_USER" USERNODE_TEMPLATE_DIR="${USERNODE_TEMPLATE_DIR:-}" "$@"
}

# make_busybox_oci OUT.tar WORKDIR: a one-layer OCI image (docker.io/library/busybox:usernode) from
# Debian's busybox-static: /bin/busybox, its applet links and /www/index.html. Needs no registry.
make_busybox_oci() {
        out=$1 w=$2
        bb=$(command -v busybox || true)
        [ -n "$bb" ] || skip "busybox-static is not installed"
        case $(file -L "$bb" 2>/dev/null) in
        *"statically linked"*) ;;
        *) skip "$bb is not statically linked (apt-get install busybox-static)" ;;
        esac
        mkdir -p "$w/rootfs/bin" "$w/rootfs/www"
        cp "$bb" "$w/rootfs/bin/busybox"
        for a in $("$bb" --list); do [ "$a" = busybox ] || ln -s busybox "$w/rootfs/bin/$a"; done
        echo "hello from a container behind the CNI bridge" >"$w/rootfs/www/index.html"
        make_oci "$out" "$w" "$w/rootfs" docker.io/library/busybox:usernode '["/bin/sh"]'
}

# make_oci OUT.tar WORKDIR ROOTFS NAME CMD_JSON [ENTRYPOINT_JSON]: a one-layer OCI image archive of ROOTFS named NAME.
make_oci() {
        out=$1 w=$2 rootfs=$3 name=$4 cmd=$5 entrypoint=${6:-}
        rm -rf "$w/oci"
        mkdir -p "$w/oci/blobs/sha256"
        tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$w/layer.tar" .
        layer=$(oci_blob "$w" "$w/layer.tar")
        printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],%s"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
                "${entrypoint:+\"Entrypoint\":$entrypoint,}" "$cmd" "$layer" >"$w/config.json"
        config=$(oci_blob "$w" "$w/config.json")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
                "$config" "$(stat -c %s "$w/config.json")" "$layer" "$(stat -c %s "$w/layer.tar")" >"$w/manifest.json"
        manifest=$(oci_blob "$w" "$w/manifest.json")
        printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
                "$manifest" "$(stat -c %s "$w/manifest.json")" "$name" "${name##*:}" >"$w/oci/index.json"
        echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci/oci-layout"
        tar -C "$w/oci" -cf "$out" .
}

oci_blob() {
        d=$(sha256sum "$2" | cut -d' ' -f1)
        cp "$2" "$1/oci/blobs/sha256/$d"
        echo "$d"
}
