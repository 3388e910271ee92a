#!/bin/sh
# The network, sysctl, kernel module, engine and limits checks against fake host roots (--root):
# each root is built here with one known fault per check, and the JSON report must name it.
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v python3 >/dev/null || skip "python3 is needed to read the JSON report"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rel=6.1.0-9-amd64

put() { mkdir -p "$(dirname "$1")"; printf "$2" > "$1"; }

# A host with faults: a VPN route over the pod network, a loopback DNS stub without upstreams,
# the API server port taken, strict rp_filter, k3s-hostile sysctls, a module only in modules.dep.
bad=$work/bad
put "$bad/etc/os-release" 'ID=ubuntu\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04"\n'
put "$bad/etc/passwd" 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n'
put "$bad/etc/group" 'root:x:0:\nalice:x:1000:\n'
put "$bad/proc/sys/kernel/osrelease" "$rel\n"
put "$bad/proc/sys/net/ipv4/ip_forward" '0\n'
put "$bad/proc/sys/net/ipv4/ping_group_range" '1\t0\n'
put "$bad/proc/sys/net/ipv4/ip_unprivileged_port_start" '1024\n'
put "$bad/proc/sys/net/ipv4/conf/all/rp_filter" '1\n'
put "$bad/proc/sys/net/ipv4/conf/default/rp_filter" '1\n'
put "$bad/proc/sys/net/ipv6/conf/all/disable_ipv6" '1\n'
put "$bad/proc/sys/fs/inotify/max_user_instances" '128\n'
put "$bad/proc/sys/fs/inotify/max_user_watches" '8192\n'
put "$bad/proc/net/route" 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\nvpn0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n'
put "$bad/proc/net/tcp" '  sl  local_address rem_address   st\n   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1 0\n'
put "$bad/proc/swaps" 'Filename\tType\tSize\tUsed\tPriority\n'
put "$bad/proc/modules" 'overlay 151552 0 - Live 0x0\n'
put "$bad/lib/modules/$rel/modules.dep" 'kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko.zst\n'
put "$bad/lib/modules/$rel/modules.builtin" 'kernel/drivers/net/tun.ko\n'
put "$bad/etc/resolv.conf" 'nameserver 127.0.0.53\noptions edns0\n'
put "$bad/etc/security/limits.d/10-small.conf" 'alice hard nofile 4096\n'

# A good host: everything set as a node wants it, values given through sysctl.d rather than /proc.
good=$work/good
put "$good/etc/os-release" 'ID=fedora\nVERSION_ID=40\n'
put "$good/etc/passwd" 'alice:x:1000:1000::/home/alice:/bin/sh\n'
put "$good/etc/group" 'alice:x:1000:\n'
put "$good/proc/sys/kernel/osrelease" "$rel\n"
put "$good/usr/lib/sysctl.d/50-default.conf" 'net.ipv4.ping_group_range = 0 2147483647\nnet.ipv4.conf.all.rp_filter = 2\n'
put "$good/etc/sysctl.d/50-usernode.conf" 'net.ipv4.ip_forward=1\nnet.ipv4.ip_unprivileged_port_start=0\nfs.inotify.max_user_instances=8192\nfs.inotify.max_user_watches=524288\n'
put "$good/proc/net/route" 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n'
put "$good/proc/net/tcp" '  sl  local_address rem_address   st\n'
put "$good/proc/swaps" 'Filename\tType\tSize\tUsed\tPriority\n/swapfile file\t2097148\t0\t-2\n'
put "$good/lib/modules/$rel/modules.builtin" 'kernel/fs/overlayfs/overlay.ko\nkernel/net/bridge/br_netfilter.ko\nkernel/net/netfilter/nf_tables.ko\nkernel/net/ipv4/netfilter/ip_tables.ko\nkernel/net/ipv4/netfilter/iptable_nat.ko\nkernel/drivers/net/vxlan/vxlan.ko\nkernel/drivers/net/tun.ko\n'
put "$good/etc/resolv.conf" 'nameserver 127.0.0.53\n'
put "$good/run/systemd/resolve/resolv.conf" 'nameserver 192.0.2.53\n'
put "$good/etc/security/limits.conf" '* hard nofile 1048576\n'
for b in k3s rootlesskit slirp4netns newuidmap newgidmap; do put "$good/usr/bin/$b" '#!/bin/sh\necho "version 9.9.9-ran-inside-root"\n'; chmod 0755 "$good/usr/bin/$b"; done
# k3s's CNI plugins (rancher/plugins) where k3s finds them: the directory of the first host-local on PATH.
for b in bridge flannel host-local loopback portmap; do put "$good/usr/local/bin/$b" '#!/bin/sh\necho ran-inside-root\n'; chmod 0755 "$good/usr/local/bin/$b"; done

report() {
        set +e
        "$USERNODE" check --root "$1" --user alice --json --engine "$2" > "$work/out.json"
        set -e
        python3 -m json.tool "$work/out.json" > /dev/null || fail "invalid JSON for $1"
}

# expect ID STATUS [TEXT]: the check has that status, and its detail or fix contains TEXT.
expect() {
        python3 - "$work/out.json" "$@" <<'PY' || fail "$1 in $(cat "$work/out.json")"
import json, sys
report, cid, status = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
text = sys.argv[4] if len(sys.argv) > 4 else ""
for c in report["checks"]:
    if c["id"] == cid:
        blob = c["detail"] + " " + (c.get("fix") or "")
        if c["status"] != status or text not in blob:
            sys.exit("%s: %s %r, expected %s containing %r" % (cid, c["status"], blob, status, text))
        sys.exit(0)
sys.exit("%s: not reported" % cid)
PY
}

report "$bad" k3s
expect net.cidr fail "10.0.0.0/8 overlaps the pod network 10.42.0.0/16 on vpn0"
expect net.cidr fail "usernode up --cluster-cidr 172.16.0.0/16"
expect net.dns warn "127.0.0.53"
expect net.ports warn "6443 (API server)"
expect net.ipv6 warn "disable_ipv6 = 1"
expect net.tun pass "built in"
expect net.driver fail "slirp4netns"
expect net.source-ip warn "builtin port driver"
expect sysctl.ip_forward warn "lxc-user-nic"
expect sysctl.ping_group_range warn "GID 1000"
expect sysctl.unprivileged_port_start warn "sudo usernode setup --user alice --privileged-ports"
expect sysctl.rp_filter warn "strict"
expect kmod.overlay pass "/proc/modules"
# Under --root the module goes into the tree's modules-load.d; modprobe here would load it into this host.
expect kmod.br_netfilter warn "echo br_netfilter | sudo tee -a $bad/etc/modules-load.d/usernode.conf"
expect kmod.vxlan warn "linux-modules-extra"
expect engine.k3s fail "k3s is not on PATH"
expect engine.kubelet skip "not the selected engine"
expect limits.nofile warn "4096"
expect limits.inotify warn "max_user_watches = 8192"
expect memory.swap warn "no swap"

report "$bad" kubelet
expect engine.k3s skip "not the selected engine"
expect engine.kubelet fail "not in Debian's archive"
expect sysctl.ip_forward warn "lxc-user-nic"
expect engine.overlay warn "no flanneld on PATH"

# flanneld in the tree: the kubelet engine's pod network to other nodes (the port is not probed under --root).
put "$bad/usr/local/bin/flanneld" '#!/bin/sh
echo "ran-inside-root"
'
chmod 0755 "$bad/usr/local/bin/flanneld"
report "$bad" kubelet
expect engine.overlay pass "flanneld at /usr/local/bin/flanneld"
report "$bad" k3s
expect engine.overlay skip "k3s runs the flannel built into it"

# Live, with a flanneld on PATH: UDP 8472 taken on an address of this host (as by another node's pod network) is
# a warning; the port held by this script's python for the length of the check.
mkdir -p "$work/bin"
printf '#!/bin/sh\nexit 0\n' >"$work/bin/flanneld"
chmod 0755 "$work/bin/flanneld"
PATH="$work/bin:$PATH" python3 - "$USERNODE" <<'PY' || fail "engine.overlay with 8472 taken"
import json, socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.1", 8472))
except OSError:
    print("checks-net: UDP 8472 is taken already: the live engine.overlay case is not run", file=sys.stderr)
    sys.exit(0)
out = subprocess.run([sys.argv[1], "check", "--engine", "kubelet", "--json"], capture_output=True, text=True).stdout
c = [c for c in json.loads(out)["checks"] if c["id"] == "engine.overlay"][0]
if c["status"] != "warn" or "UDP port 8472 is taken" not in c["detail"]:
    sys.exit("engine.overlay: %s" % c)
PY

report "$good" k3s
for id in net.cidr net.dns net.ports net.tun net.driver net.source-ip sysctl.ip_forward sysctl.ping_group_range \
          sysctl.unprivileged_port_start sysctl.rp_filter kmod.overlay kmod.br_netfilter kmod.nf_tables kmod.ip_tables \
          kmod.iptable_nat kmod.vxlan engine.k3s limits.nofile limits.inotify memory.swap; do
        expect "$id" pass
done
expect net.dns pass "192.0.2.53"
expect sysctl.ip_forward pass "sysctl.d"
expect net.ipv6 pass "kernel default"
expect engine.k3s pass "present; CNI plugins in /usr/local/bin (bridge, flannel, host-local"
# Debian's plugins first on PATH (no flannel): k3s would take them and its pods would have no network.
rm "$good/usr/local/bin/flannel"
report "$good" k3s
expect engine.k3s fail "without flannel"
# None on PATH: only k3s's packaged binary brings its own.
rm "$good/usr/local/bin/host-local"
report "$good" k3s
expect engine.k3s warn "packaged single binary"

# The report under --root never runs the root's binaries (their version would show).
grep -q 'ran-inside-root' "$work/out.json" && fail "a binary inside the root ran"
echo "checks-net: ok"
