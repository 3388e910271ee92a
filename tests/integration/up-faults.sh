#!/bin/bash
# Faults during `up --wait`, as an ordinary user: rootlesskit, slirp4netns or containerd killed at random
# moments, a full disk under the state and data dirs, the published port already taken. `up` exits 1
# naming the part that failed (or, when the kill came after it returned, `status` does; containerd the node's
# init starts again), and `down --purge` then leaves no process, mount or file. Then UP_FAULT_CYCLES (100) up/down --purge
# cycles, each checked for leftovers.
. "${top_srcdir:-.}/tests/integration/lib.sh"

TEST_USER=usernode-fault
[ "$(id -u)" -eq 0 ] || skip "needs root to create the test user and mount a small tmpfs"
for b in rootlesskit slirp4netns containerd newuidmap jq runuser; do
        command -v "$b" >/dev/null 2>&1 || skip "$b is not installed"
done
id "$TEST_USER" >/dev/null 2>&1 || useradd -m "$TEST_USER"
grep -q "^$TEST_USER:" /etc/subuid || echo "$TEST_USER:600000:65536" >>/etc/subuid
grep -q "^$TEST_USER:" /etc/subgid || echo "$TEST_USER:600000:65536" >>/etc/subgid
chmod 0666 /dev/net/tun
[ -e /dev/fuse ] && chmod 0666 /dev/fuse
uid=$(id -u "$TEST_USER")
sub_start=$(awk -F: -v u="$TEST_USER" '$1 == u { print $2; exit }' /etc/subuid)
sub_count=$(awk -F: -v u="$TEST_USER" '$1 == u { print $3; exit }' /etc/subuid)

WORK=$(mktemp -d /tmp/usernode-up-faults.XXXXXX)
cleanup() {
        for d in "$WORK"/xdg/usernode/* "$WORK"/small/xdg/usernode/*; do
                [ -d "$d" ] || continue
                runuser -u "$TEST_USER" -- env XDG_RUNTIME_DIR="${d%/usernode/*}" HOME="$WORK/home" \
                        "$USERNODE" down --name "${d##*/}" --purge >/dev/null 2>&1 || true
        done
        umount "$WORK/small" 2>/dev/null || true
        rm -rf "$WORK"
}
trap cleanup EXIT
chmod 0755 "$WORK"
reachable_copy "$WORK"
mkdir -p "$WORK/xdg" "$WORK/home" "$WORK/small"
chown "$TEST_USER:" "$WORK/xdg" "$WORK/home"
chmod 0700 "$WORK/xdg"
# A full disk: 256 KiB of tmpfs for the runtime and data dirs of one test.
mount -t tmpfs -o size=256k,mode=0755 usernode-faults "$WORK/small"
mkdir -p "$WORK/small/xdg" "$WORK/small/home"
chown "$TEST_USER:" "$WORK/small/xdg" "$WORK/small/home"
chmod 0700 "$WORK/small/xdg"

PORT=$(( 20000 + $$ % 20000 ))
cat >"$WORK/as-user.sh" <<EOF
set -eu
. "$top_srcdir/tests/integration/lib.sh"
export XDG_RUNTIME_DIR="$WORK/xdg" HOME="$WORK/home"
export PATH="$top_srcdir/tests/stand-ins:\$PATH" USERNODE_STANDIN_RECORD="$WORK/home/kubelet.rec"
U="$USERNODE"
failing=\$("\$U" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
echo "checks failing here (ignored): \${failing:-none}"
ign=(); [ -z "\$failing" ] || ign=(--ignore="\$failing")

# Other tests run nodes as this same user meanwhile (another up-faults too): a process is this
# run's when its XDG_RUNTIME_DIR is under $WORK. Only those are killed and counted.
ours() {        # ours PID...: prints those of the PIDs that are this run's
        local p
        for p; do
                ! grep -qz "^XDG_RUNTIME_DIR=$WORK/" "/proc/\$p/environ" 2>/dev/null || echo "\$p"
        done
}

# Nothing of the node may remain: process of the user, mount, state or data dir, file owned by a sub-ID.
leftovers() {   # leftovers CONTEXT XDG HOME
        local left i
        # A process SIGKILLed a moment ago may still be tearing down its threads: 2 s of grace, then it is left.
        for i in \$(seq 1 20); do
                left=\$(ours \$(ps -u $uid -o stat=,pid=,comm= | awk '\$1 !~ /^Z/ && \$3 ~ /^(rootlesskit|exe|containerd.*|slirp4netns|kubelet|usernode|sleep|pasta|passt)\$/ { print \$2 }'))
                [ -n "\$left" ] || break
                sleep 0.1
        done
        [ -z "\$left" ] || fail "\$1: processes left: \$(ps -o pid,ppid,pgid,stat,etime,args -p "\${left//\$'\n'/,}")"
        ! grep -q "$WORK" /proc/mounts || [ "\$(grep -c "$WORK" /proc/mounts)" -eq "\$(grep -c "$WORK/small " /proc/mounts)" ] ||
                fail "\$1: mounts left: \$(grep "$WORK" /proc/mounts)"
        [ -z "\$(ls -A "\$2/usernode" 2>/dev/null)" ] || fail "\$1: left in \$2/usernode: \$(ls -A "\$2/usernode")"
        [ -z "\$(ls -A "\$3/.local/share/usernode/nodes" 2>/dev/null)" ] ||
                fail "\$1: data left: \$(ls -A "\$3/.local/share/usernode/nodes")"
        left=\$(find "$WORK" -xdev \\( -uid +$((sub_start - 1)) -a -uid -$((sub_start + sub_count)) \\) -print -quit 2>/dev/null || true)
        [ -z "\$left" ] || fail "\$1: a file owned by a sub-ID is left: \$left"
}

# 1. Kills at random moments. up either fails naming the part, or (the kill came after it returned)
# status does, or, for containerd, the node heals (its init starts it again); down --purge cleans up either way.
kills=0; failed_up=0; failed_after=0; healed=0; missed=0
for comp in rootlesskit slirp4netns containerd; do
        for trial in \$(seq 1 \${UP_FAULT_KILLS:-8}); do
                delay=\$(awk -v r=\$RANDOM 'BEGIN { printf "%.3f", (r % 400) / 1000 }')
                set +e
                "\$U" up --engine kubelet --net slirp4netns --name f --wait=30 "\${ign[@]}" >"\$HOME/up.out" 2>"\$HOME/up.err" &
                up=\$!
                sleep "\$delay"
                pid=\$(ours \$(pgrep -u $uid -x "\$comp"))
                pid=\${pid%%\$'\n'*}
                [ -z "\$pid" ] || kill -KILL "\$pid"
                wait "\$up"
                rc=\$?
                set -e
                # grep without -q reads all of its input: no broken pipe.
                if [ -z "\$pid" ] || { [ "\$rc" -eq 0 ] && [ -n "\$(ours \$(pgrep -u $uid -x "\$comp") | grep -vx "\$pid")" ]; }; then
                        # Not running yet, or what died was a short-lived probe (rootlesskit runs
                        # slirp4netns --help first) while the real one runs on.
                        missed=\$((missed + 1))
                elif [ "\$rc" -eq 1 ]; then
                        grep -q "\$comp" "\$HOME/up.err" || fail "\$comp killed after \${delay}s: up's error does not name it: \$(cat "\$HOME/up.err")"
                        failed_up=\$((failed_up + 1))
                elif [ "\$rc" -eq 0 ] && [ "\$comp" = containerd ]; then
                        # After up returned the node heals: its init starts containerd again.
                        for i in \$(seq 1 100); do
                                jq -e '.daemons[] | select(.name == "containerd") | .restarts >= 1 and .state == "running"' \\
                                        "\$XDG_RUNTIME_DIR/usernode/f/status.json" >/dev/null 2>&1 && break
                                sleep 0.1
                        done
                        jq -e '.daemons[] | select(.name == "containerd") | .restarts >= 1 and .state == "running"' \\
                                "\$XDG_RUNTIME_DIR/usernode/f/status.json" >/dev/null ||
                                fail "containerd killed after up returned was not started again: \$(cat "\$XDG_RUNTIME_DIR/usernode/f/status.json")"
                        "\$U" status --name f >/dev/null || fail "containerd killed after up returned: the node is not running"
                        healed=\$((healed + 1))
                elif [ "\$rc" -eq 0 ]; then
                        # The kill landed after up returned: the supervisor notices within a moment.
                        for i in \$(seq 1 50); do "\$U" status --name f >/dev/null 2>&1 || break; sleep 0.1; done
                        ! "\$U" status --name f >/dev/null 2>&1 || fail "\$comp killed after \${delay}s: status still says running: \$(cat "\$XDG_RUNTIME_DIR/usernode/f/status.json"; tail -n 20 "\$XDG_RUNTIME_DIR/usernode/f/node.log"; ps -u $uid -o pid,ppid,stat,comm)"
                        grep -q "\$comp" "\$XDG_RUNTIME_DIR/usernode/f/status.json" ||
                                fail "\$comp killed: status does not name it: \$(cat "\$XDG_RUNTIME_DIR/usernode/f/status.json")"
                        failed_after=\$((failed_after + 1))
                else
                        fail "\$comp killed after \${delay}s: up exited \$rc: \$(cat "\$HOME/up.err")"
                fi
                kills=\$((kills + 1))
                "\$U" down --name f --purge >"\$HOME/down.out" 2>&1 || [ ! -e "\$XDG_RUNTIME_DIR/usernode/f" ] ||
                        fail "down --purge after killing \$comp failed: \$(cat "\$HOME/down.out")"
                leftovers "\$comp killed after \${delay}s" "\$XDG_RUNTIME_DIR" "\$HOME"
        done
done
echo "kills: \$kills runs; up failed naming the part \$failed_up times, status did after up returned \$failed_after times, containerd was started again after up returned \$healed times, the part was not running yet \$missed times; nothing left"

# 2. A full disk under the runtime and data dirs: no byte free, then a few KiB free (a status file fits,
# containerd's database does not).
for free_kib in 0 16 64; do
        rm -f "$WORK/small/home/fill"
        dd if=/dev/zero of="$WORK/small/home/fill" bs=4k 2>/dev/null || true
        [ "\$free_kib" -eq 0 ] || truncate -s -\${free_kib}K "$WORK/small/home/fill"
        set +e
        XDG_RUNTIME_DIR="$WORK/small/xdg" HOME="$WORK/small/home" "\$U" up --engine kubelet --name full --wait=30 "\${ign[@]}" \
                >"\$HOME/up.out" 2>"\$HOME/up.err"
        rc=\$?
        set -e
        echo "full disk (\$free_kib KiB free): up exited \$rc: \$(grep -v 'ready after' "\$HOME/up.err" | sed -n 1,3p)"
        # With no byte free up must fail; with a few KiB it may just fit.
        if [ "\$rc" -ne 0 ] || [ "\$free_kib" -eq 0 ]; then
                [ "\$rc" -eq 1 ] || [ "\$rc" -eq 3 ] || fail "full disk: up exited \$rc"
                grep -qi 'no space\|exited\|not running\|cannot' "\$HOME/up.err" ||
                        fail "full disk: unclear error: \$(cat "\$HOME/up.err")"
        fi
        rm -f "$WORK/small/home/fill"
        XDG_RUNTIME_DIR="$WORK/small/xdg" HOME="$WORK/small/home" "\$U" down --name full --purge >"\$HOME/down.out" 2>&1 ||
                [ ! -e "$WORK/small/xdg/usernode/full" ] || fail "full disk: down --purge failed: \$(cat "\$HOME/down.out")"
        leftovers "full disk" "$WORK/small/xdg" "$WORK/small/home"
done

# 3. The published port already taken.
# The holder says when it listens (through a FIFO): no sleep guessing when that is.
mkfifo "\$HOME/holder.ready"
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("listening", flush=True)
time.sleep(60)' $PORT >"\$HOME/holder.ready" &
holder=\$!
ready=""
read -r ready <"\$HOME/holder.ready" || true
[ "\$ready" = listening ] || fail "port taken: could not hold port $PORT for the test"
set +e
"\$U" up --engine kubelet --name port --wait=30 --publish 127.0.0.1:$PORT:80 "\${ign[@]}" >"\$HOME/up.out" 2>"\$HOME/up.err"
rc=\$?
set -e
kill "\$holder"; wait "\$holder" 2>/dev/null || true
echo "port taken: up exited \$rc: \$(grep -v 'ready after' "\$HOME/up.err" | sed -n 1,3p)"
[ "\$rc" -eq 1 ] || fail "port taken: up exited \$rc"
grep -q "$PORT" "\$HOME/up.err" || fail "port taken: the error does not name port $PORT: \$(cat "\$HOME/up.err")"
"\$U" down --name port --purge >/dev/null 2>&1 || true
leftovers "port taken" "\$XDG_RUNTIME_DIR" "\$HOME"

# 4. Cycles.
cycles=\${UP_FAULT_CYCLES:-100}
start=\$(date +%s)
for i in \$(seq 1 "\$cycles"); do
        "\$U" up --engine kubelet --name cycle --wait=30 "\${ign[@]}" >/dev/null 2>"\$HOME/up.err" ||
                fail "cycle \$i: up failed: \$(cat "\$HOME/up.err")"
        "\$U" down --name cycle --purge >/dev/null || fail "cycle \$i: down --purge failed"
        leftovers "cycle \$i" "\$XDG_RUNTIME_DIR" "\$HOME"
done
echo "cycles: \$cycles up/down --purge in \$(( \$(date +%s) - start )) s, nothing left after any"
echo "up-faults: ok"
EOF
chmod 0755 "$WORK/as-user.sh"
runuser -u "$TEST_USER" -- env UP_FAULT_KILLS="${UP_FAULT_KILLS:-8}" UP_FAULT_CYCLES="${UP_FAULT_CYCLES:-100}" \
        bash "$WORK/as-user.sh"
