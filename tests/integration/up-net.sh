#!/bin/sh
# The node's networking for real, as an ordinary user: --net lxc-user-nic (a veth on bridge
# usernode0 through Debian's setuid helper, address by DHCP, what `setup --fast-net` provides
# through systemd-networkd; here the test makes the bridge and runs dnsmasq on it), --net auto
# picking it, --publish through it, and the DNS stub case: with /etc/resolv.conf naming only
# 127.0.0.53 (in a private mount namespace), the node resolves names through the upstream
# that /run/systemd/resolve/resolv.conf names, with lxc-user-nic and with slirp4netns.
. "${top_srcdir:-.}/tests/integration/lib.sh"

BR=usernode0
# A user of its own: the lxc-usernet line this test adds for it would make --net auto of the tests running meanwhile
# as the shared test user take lxc-user-nic, and fail when this test removes the bridge.
TEST_USER=usernode-nettest
[ "$(id -u)" -eq 0 ] || skip "needs root to make the bridge and the test user"
[ -z "${USERNODE_IN_NS:-}" ] || { "$@"; exit $?; }
for b in rootlesskit slirp4netns containerd ctr dnsmasq ip unshare jq; do
        command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
done
NIC=/usr/libexec/lxc/lxc-user-nic
[ -u "$NIC" ] || skip "lxc-user-nic is not installed setuid (package lxc)"
[ -d /run/systemd ] || skip "no /run/systemd to hide resolved's file under"
ip link show "$BR" >/dev/null 2>&1 && skip "bridge $BR exists already (a real setup --fast-net?): not touching it"

ensure_test_user

WORK=$(mktemp -d /tmp/usernode-up-net.XXXXXX)
usernet_added=""
cleanup() {
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home" \
                        "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || true
        done
        [ -f "$WORK/dnsmasq.pid" ] && kill "$(cat "$WORK/dnsmasq.pid")" 2>/dev/null
        ip link del "$BR" 2>/dev/null
        [ -z "$usernet_added" ] || sed -i "/^$TEST_USER veth $BR 10\$/d" /etc/lxc/lxc-usernet
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home" && chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"

# What setup --fast-net and systemd-networkd would give: the bridge with an address, DHCP on it;
# dnsmasq also answers DNS for a test name so that the node's resolver can be proven.
ip link add "$BR" type bridge
ip addr add 10.44.0.1/24 dev "$BR"
ip link set "$BR" up
dnsmasq --conf-file=/dev/null --interface="$BR" --bind-interfaces --except-interface=lo --no-ping \
        --listen-address=10.44.0.1 --no-resolv --address=/usernode.test/10.44.0.99 \
        --dhcp-range=10.44.0.2,10.44.0.254,1h --dhcp-option=6,10.44.0.1 \
        --pid-file="$WORK/dnsmasq.pid" --dhcp-leasefile="$WORK/leases"
mkdir -p /etc/lxc
if ! grep -qx "$TEST_USER veth $BR 10" /etc/lxc/lxc-usernet 2>/dev/null; then
        echo "$TEST_USER veth $BR 10" >>/etc/lxc/lxc-usernet
        usernet_added=1
fi

# The host's resolver is a stub on loopback, resolved's upstream file names dnsmasq: in a private
# mount namespace, so the machine's own files stay as they are.
printf 'nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.invalid\n' >"$WORK/stub-resolv.conf"
mkdir -p "$WORK/resolve"
printf 'nameserver 10.44.0.1\n' >"$WORK/resolve/resolv.conf"
PORT=$(( 20000 + $$ % 20000 ))
echo "hello from the host's side of the bridge" >"$WORK/index.html"
chmod -R a+rX "$WORK/index.html" "$WORK/resolve" "$WORK/stub-resolv.conf"

cat >"$WORK/as-user.sh" <<EOS
set -eu
. "$top_srcdir/tests/integration/lib.sh"
export XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home"
export PATH="$top_srcdir/tests/stand-ins:\$PATH"
U="$USERNODE"
failing=\$("\$U" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "\$failing" ] || ign="--ignore=\$failing"

# auto takes lxc-user-nic once the admin allowed it.
"\$U" up --engine kubelet --name fast --dry-run \$ign >"\$HOME/dry-run"
grep -q -- "--net=lxc-user-nic " "\$HOME/dry-run" || fail "auto did not pick lxc-user-nic: \$(cat "\$HOME/dry-run")"
out=\$("\$U" up --engine kubelet --name fast --wait=60 --json --publish 127.0.0.1:$PORT:8080 \$ign)
[ "\$(echo "\$out" | jq -r .state)" = running ] || fail "lxc-user-nic node not running"
addr=\$("\$U" exec --name fast -- ip -4 -o addr show eth0 | sed -n 's/.* inet \([0-9.]*\)\/24 .*/\1/p')
case \$addr in 10.44.0.*) ;; *) fail "no DHCP address from the bridge on eth0: '\$addr'" ;; esac
mtu=\$("\$U" exec --name fast -- cat /sys/class/net/eth0/mtu)
[ "\$mtu" = "\$(cat /sys/class/net/$BR/mtu)" ] || fail "eth0 MTU \$mtu is not the bridge's"
# The node reaches the host over the veth; the host reaches the node through --publish.
"\$U" exec --name fast -- busybox httpd -p 127.0.0.1:8080 -h "$WORK"
page=\$(busybox wget -q -O - "http://127.0.0.1:$PORT/index.html") || fail "published port did not answer"
[ "\$page" = "hello from the host's side of the bridge" ] || fail "published port answered '\$page'"
# DNS: the stub was replaced by resolved's upstream, the host's search line kept.
"\$U" exec --name fast -- cat /etc/resolv.conf
"\$U" exec --name fast -- grep -qx "nameserver 10.44.0.1" /etc/resolv.conf || fail "node resolv.conf lacks the upstream"
"\$U" exec --name fast -- grep -qx "search example.invalid" /etc/resolv.conf || fail "node resolv.conf lost search"
! "\$U" exec --name fast -- grep -q "127.0.0.53" /etc/resolv.conf || fail "the loopback stub is still in the node"
got=\$("\$U" exec --name fast -- getent hosts usernode.test | cut -d' ' -f1)
[ "\$got" = 10.44.0.99 ] || fail "usernode.test resolved to '\$got' over lxc-user-nic"
"\$U" down --name fast --purge

# slirp4netns: the same name through slirp's NAT to the upstream.
"\$U" up --engine kubelet --name slow --net slirp4netns --wait=60 \$ign >/dev/null
got=\$("\$U" exec --name slow -- getent hosts usernode.test | cut -d' ' -f1)
[ "\$got" = 10.44.0.99 ] || fail "usernode.test resolved to '\$got' over slirp4netns"
[ "\$("\$U" exec --name slow -- cat /sys/class/net/tap0/mtu)" = 65520 ] || fail "slirp4netns MTU is not 65520"
"\$U" down --name slow --purge
# pasta only with its own forwarding, which the user must ask for: a usage error otherwise, before anything runs.
set +e
"\$U" up --engine kubelet --name p --net pasta \$ign 2>"\$HOME/pasta.err"
rc=\$?
set -e
[ "\$rc" = 2 ] || fail "--net pasta without --port-driver implicit exited \$rc"
grep -q -- "--port-driver implicit" "\$HOME/pasta.err" || fail "pasta usage error: \$(cat "\$HOME/pasta.err")"
[ ! -e "\$XDG_RUNTIME_DIR/usernode/p" ] || fail "the refused pasta node left its state directory"
# A driver that cannot run here says why.
rootlesskit --help >"\$HOME/rootlesskit-help" 2>&1 || true
if ! grep -q pasta "\$HOME/rootlesskit-help"; then
        "\$U" up --engine kubelet --name p --net pasta --port-driver implicit \$ign 2>"\$HOME/pasta.err" &&
                fail "--net pasta started"
        grep -q "has no --net=pasta" "\$HOME/pasta.err" || fail "pasta refusal: \$(cat "\$HOME/pasta.err")"
fi
echo "up-net: ok"
EOS
chmod 0755 "$WORK/as-user.sh"
# The private mount namespace: the stub resolv.conf and resolved's file exist only for this test.
USERNODE_IN_NS=1 unshare -m --propagation private sh -c "
        mount --bind '$WORK/stub-resolv.conf' /etc/resolv.conf &&
        mount -t tmpfs -o mode=0755 tmpfs /run/systemd && mkdir /run/systemd/resolve &&
        mount --bind '$WORK/resolve' /run/systemd/resolve &&
        runuser -u $TEST_USER -- sh '$WORK/as-user.sh'"
