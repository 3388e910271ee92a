#!/bin/sh
# `up --engine kubelet --ephemeral --wait` for real, as an ordinary user: rootlesskit, containerd,
# crun, runc and the CNI plugins run; kubelet is the recording stand-in (not in Debian).
# Then exec, an imported busybox image run through crun and runc, a CNI container reached from
# the host through --publish, two nodes side by side, and `down --purge` leaving nothing.
. "${top_srcdir:-.}/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root to create the test user and make /dev/net/tun usable"
for b in rootlesskit slirp4netns containerd ctr crun runc newuidmap jq; do
        command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
done
[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
ensure_test_user

WORK=$(mktemp -d /tmp/usernode-up-kubelet.XXXXXX)
cleanup() {
        # Whatever a failed run left: stop it the way users do, then remove the files.
        for d in "$WORK"/xdg/usernode/*; do
                [ -d "$d" ] || continue
                runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home" \
                        "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || true
        done
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"

make_busybox_oci "$WORK/busybox-oci.tar" "$WORK"
chmod -R a+rX "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home" && chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"

# A port on the host for --publish: free now, checked again by rootlesskit when it binds.
PORT=$(( 20000 + $$ % 20000 ))

cat >"$WORK/as-user.sh" <<EOF
set -eu
. "$top_srcdir/tests/integration/lib.sh"
export XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home"
mkdir -p "\$XDG_RUNTIME_DIR" "\$HOME"; chmod 0700 "\$XDG_RUNTIME_DIR"
export PATH="$top_srcdir/tests/stand-ins:\$PATH" STANDIN_RECORD="$WORK/home/kubelet.rec"
U="$USERNODE"

# engine.kubelet learns the kubelet's version (a Go binary: slower than the old 40 ms bound) and refuses
# one without KubeletInUserNamespace.
detail=\$("\$U" check --engine kubelet --json | jq -r '.checks[] | select(.id=="engine.kubelet") | .detail')
case \$detail in "kubelet v1.30.2, "*"containerd "*"(CRI v1)"*) ;; *) fail "engine.kubelet: \$detail" ;; esac
old=\$(STANDIN_KUBELET_VERSION=v1.21.14 "\$U" check --engine kubelet --json |
        jq -r '.checks[] | select(.id=="engine.kubelet") | .status + " " + .detail')
case \$old in "fail "*"older than 1.22"*) ;; *) fail "a kubelet 1.21 passed: \$old" ;; esac

# The checks decide; what fails on this host is ignored explicitly and printed.
failing=\$("\$U" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
echo "checks failing here (ignored): \${failing:-none}"
ign=""; [ -z "\$failing" ] || ign="--ignore=\$failing"

# The user's image archives go into every node's store as it starts; one that is not an image is a warning.
images="\$HOME/.local/share/usernode/images"
mkdir -p "\$images"
cp "$WORK/busybox-oci.tar" "\$images/busybox.tar"
echo "not an image" >"\$images/bogus.tar"
ln -s "$WORK/busybox-oci.tar" "\$images/linked.tar"

out=\$("\$U" up --engine kubelet --ephemeral --wait=60 --json --publish 127.0.0.1:$PORT:8080 \$ign)
echo "\$out"
"\$U" exec --name "\$(echo "\$out" | jq -r .name)" -- ctr -n k8s.io images ls -q >"\$HOME/images" ||
        fail "ctr images ls"
grep -qx docker.io/library/busybox:usernode "\$HOME/images" || fail "busybox.tar not imported: \$(cat "\$HOME/images")"
echo "\$out" | jq -e '.warnings | any(test("bogus.tar not imported: ctr exited with status"))' >/dev/null ||
        fail "no warning for bogus.tar: \$(echo "\$out" | jq -c .warnings)"
echo "\$out" | jq -e '.warnings | any(test("linked.tar not imported"))' >/dev/null ||
        fail "a symlinked archive was imported: \$(echo "\$out" | jq -c .warnings)"
rm -r "\$images"
name=\$(echo "\$out" | jq -r .name)
case \$name in ci-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;; *) fail "ephemeral name '\$name'" ;; esac
[ "\$(echo "\$out" | jq -r .state)" = running ] || fail "node not running"
state_dir=\$(echo "\$out" | jq -r .state_dir)
[ "\$(echo "\$out" | jq -r .data_dir)" = "\$state_dir/data" ] || fail "ephemeral data is not inside the state dir"
[ "\$(echo "\$out" | jq -r '.ports[0].id')" -ge 0 ] || fail "port not forwarded"
config=\$(sed -n 's/^arg --config=//p' "\$HOME/kubelet.rec")
[ "\$(jq -r .containerRuntimeEndpoint "\$config")" = "unix://\$state_dir/containerd/containerd.sock" ] ||
        fail "kubelet stand-in got no containerd endpoint: \$(cat "\$config")"
grep -q "^arg --config=" "\$HOME/kubelet.rec" || fail "kubelet stand-in got no --config"

"\$U" status --name "\$name" >/dev/null || fail "status says not running"
# Into a file, then grep: piped, grep -q's early exit could break ctr's pipe.
"\$U" exec --name "\$name" -- ctr version >"\$HOME/ctr-version" 2>&1 || true
grep -q '^Server:' "\$HOME/ctr-version" || fail "ctr version did not reach containerd: \$(cat "\$HOME/ctr-version")"
# The node's own name resolves in the node without DNS (the kubelet looks it up for its address).
"\$U" exec --name "\$name" -- cat /etc/hosts >"\$HOME/hosts" || fail "cannot read the node's /etc/hosts"
grep -Eq "^127\.0\.1\.1[[:space:]]+\$name\$" "\$HOME/hosts" || fail "the node's /etc/hosts does not name it: \$(cat "\$HOME/hosts")"
snap=\$(sed -n 's/^ *snapshotter = "\(.*\)"/\1/p' "\$state_dir/containerd/config.toml")
echo "snapshotter: \$snap"
"\$U" exec --name "\$name" -- ctr images import --snapshotter "\$snap" "$WORK/busybox-oci.tar"
for rt in /usr/bin/crun \$(command -v runc); do
        got=\$("\$U" exec --name "\$name" -- ctr run --rm --snapshotter "\$snap" --runc-binary "\$rt" --cgroup "" --cpu-shares 0 \
                docker.io/library/busybox:usernode "t-\$(basename \$rt)" /bin/echo "ran-with-\$(basename \$rt)")
        [ "\$got" = "ran-with-\$(basename \$rt)" ] || fail "container through \$rt printed '\$got'"
done

# A web server in a container on the CNI bridge, reached from the host through --publish:
# host 127.0.0.1:$PORT -> rootlesskit -> node 127.0.0.1:8080 -> DNAT (what portmap does) -> pod.
"\$U" exec --name "\$name" -- ctr run -d --cni --snapshotter "\$snap" --cgroup "" --cpu-shares 0 \
        docker.io/library/busybox:usernode web /bin/httpd -f -p 8080 -h /www
cip=""
for i in 1 2 3 4 5 6 7 8 9 10; do
        cip=\$("\$U" exec --name "\$name" -- ctr task exec --exec-id ip web /bin/ip -4 -o addr show eth0 2>/dev/null |
                sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p') && [ -n "\$cip" ] && break
        "\$U" exec --name "\$name" -- /bin/sleep 0.2
done
[ -n "\$cip" ] || fail "container got no address on the CNI bridge"
"\$U" exec --name "\$name" -- sh -c "sysctl -qw net.ipv4.conf.all.route_localnet=1 &&
        iptables -t nat -A OUTPUT -d 127.0.0.1 -p tcp --dport 8080 -j DNAT --to-destination \$cip:8080 &&
        iptables -t nat -A POSTROUTING -s 127.0.0.0/8 -d \$cip -j MASQUERADE"
page=\$(busybox wget -q -O - "http://127.0.0.1:$PORT/index.html") || fail "published port did not answer"
[ "\$page" = "hello from a container behind the CNI bridge" ] || fail "published port answered '\$page'"

# A second node beside the first.
"\$U" up --engine kubelet --name second --wait=60 \$ign >/dev/null
"\$U" exec --name second -- ctr version >"\$HOME/ctr-version" 2>&1 || true
grep -q '^Server:' "\$HOME/ctr-version" || fail "second node's containerd: \$(cat "\$HOME/ctr-version")"
"\$U" status --name "\$name" >/dev/null || fail "first node stopped when the second started"
"\$U" down --name second --purge

# A kubelet that dies right after READY=1, as a real one can: up does not call that ready, it fails quoting it.
set +e
STANDIN_KUBELET_DIE_AFTER_READY="mkdir /var/log/containers: permission denied" \
        "\$U" up --engine kubelet --name dies --wait=60 \$ign >"\$HOME/dies.out" 2>"\$HOME/dies.err"
rc=\$?
set -e
[ "\$rc" = 1 ] || fail "a kubelet that died after READY=1: up exited \$rc: \$(cat "\$HOME/dies.out" "\$HOME/dies.err")"
grep -q "kubelet exited with status 1.*mkdir /var/log/containers: permission denied" "\$HOME/dies.err" ||
        fail "up does not quote the kubelet: \$(cat "\$HOME/dies.err")"
! grep -q "api-ready" "\$HOME/dies.out" || fail "up said api-ready for a dead kubelet"
"\$U" down --name dies --purge

pids=\$(echo "\$out" | jq -r '.pids[]' | tr '\n' ' ')
"\$U" down --name "\$name" --purge
[ ! -e "\$state_dir" ] || fail "state dir \$state_dir is left"
[ -z "\$(ls -A "\$XDG_RUNTIME_DIR/usernode")" ] || fail "left in \$XDG_RUNTIME_DIR/usernode: \$(ls -A "\$XDG_RUNTIME_DIR/usernode")"
[ ! -e "\$HOME/.local/share/usernode/nodes/second" ] || fail "second node's data is left"
! grep -q "\$state_dir" /proc/mounts || fail "a mount of the node is left"
for p in \$pids; do
        # The host's PID 1 reaps orphans slowly here: a zombie is gone in all but its PID.
        st=\$(sed -n 's/^State:\t\(.\).*/\1/p' /proc/\$p/status 2>/dev/null || true)
        [ -z "\$st" ] || [ "\$st" = Z ] || fail "process \$p of the node is left (state \$st)"
done
# Only this test's processes (its XDG_RUNTIME_DIR): other tests run nodes as the same user meanwhile.
left=\$(ps -u "\$(id -u)" -o stat=,pid=,comm= | awk '\$1 !~ /^Z/ && \$3 ~ /^(rootlesskit|exe|containerd.*|slirp4netns|kubelet|usernode|httpd)\$/ { print \$2 }' |
        while read -r p; do
                grep -qxzF "XDG_RUNTIME_DIR=$WORK/xdg" "/proc/\$p/environ" 2>/dev/null && echo "\$p"
        done || true)
[ -z "\$left" ] || fail "processes left: \$left"
echo "up-kubelet: ok"
EOF
chmod 0755 "$WORK/as-user.sh"
runuser -u "$TEST_USER" -- sh "$WORK/as-user.sh"
