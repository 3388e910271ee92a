#!/bin/bash
# Privilege: a user who controls their home directory (symlinks in ~, ~/.config, ~/.local, a
# /run/user/UID of their own) cannot make root's `setup` or `check --user` read or write anywhere
# else; root never writes into a directory another user can write to; version queries run with
# PR_SET_NO_NEW_PRIVS.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/integration/fixture-lib.sh"
. "${top_srcdir:-.}/tests/integration/setup-lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (setup runs as root)"
base=$top_srcdir/tests/fixtures/debian12-ready
[ -d "$base/root" ] || skip "no debian12-ready fixture"

work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
reachable_copy "$work"
canary="PRIV-CANARY-$$-$RANDOM"
mkdir -p "$work/outside"
for f in shadow passwd subuid sysctl.conf; do printf '%s:%s:1:1\n' "$canary" "$f" > "$work/outside/$f"; done
snapshot_outside() { (cd "$work/outside" && find . -printf '%p %m %u %s\n' | sort && cat ./*) | sha256sum; }
before=$(snapshot_outside)
shadow_before=$(sha256sum /etc/shadow /etc/passwd /etc/subuid /etc/subgid)

fresh() {
        rm -rf "${work:?}/root"
        lay_fixture "$base" "$work/root"
        # alice's home, hers to shape: every name a symlink out (absolute, to the outside and to /etc).
        home=$work/root/home/alice
        rm -rf "$home"
        mkdir -p "$home"
        ln -s "$work/outside" "$home/.config"
        ln -s /etc "$home/.local"
        ln -s "$work/outside/shadow" "$home/.bashrc"
        ln -s "$work/outside" "$home/.cache"
        mkdir -p "$work/root/run/user"
        ln -s "$work/outside" "$work/root/run/user/1000"
        chown -R -h 1000:1000 "$home" "$work/root/run/user/1000"
}

fresh
for cmd in "check --root $work/root --user alice --engine kubelet --json" \
           "setup --dry-run --root $work/root --user alice" \
           "setup --root $work/root --user alice" \
           "unsetup --root $work/root --user alice"; do
        set +e
        # shellcheck disable=SC2086
        timeout 20 strace -f -qq -o "$work/trace" -e trace=open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,symlink,symlinkat,link,linkat,chmod,fchmodat,chown,fchownat \
                "$USERNODE" $cmd > "$work/out" 2> "$work/err"
        rc=$?
        set -e
        [ "$rc" -le 2 ] || fail "$cmd: exit $rc: $(cat "$work/err")"
        grep -q "openat.*$work/root" "$work/trace" || grep -q 'openat2\?(3, "etc' "$work/trace" ||
                fail "$cmd: strace saw no open in the root: $(head -n 5 "$work/trace")"
        ! grep -q "$canary" "$work/out" "$work/err" || fail "$cmd: read a file outside the root"
        # Nothing under the user's home or runtime dir is touched (not even opened), nor anything outside.
        if grep -E "\"($work/root)?/(home/alice|run/user/1000)" "$work/trace" | grep -v ENOENT; then
                fail "$cmd: touched the user's home or runtime dir"
        fi
        [ "$(snapshot_outside)" = "$before" ] || fail "$cmd: a file outside the root changed"
        echo "privilege: '$cmd' (exit $rc): nothing of alice's opened"
done
[ "$(sha256sum /etc/shadow /etc/passwd /etc/subuid /etc/subgid)" = "$shadow_before" ] || fail "the host's /etc changed"

# A directory setup writes in, but that another user can write to (or owns): refused, nothing written.
# (make_root: a host where setup has work to do, /etc/subuid first.)
for how in owner group-other; do
        rm -rf "${work:?}/w"
        make_root "$work/w"
        d=$work/w/etc
        if [ "$how" = owner ]; then chown 1000:1000 "$d"; else chmod 0777 "$d"; fi
        sub_before=$(cat "$d/subuid")
        set +e
        "$USERNODE" setup --root "$work/w" --user alice > "$work/out" 2> "$work/err"
        rc=$?
        set -e
        [ "$rc" -ne 0 ] || fail "setup wrote into $d ($how)"
        grep -q 'refusing to write in /etc' "$work/err" || fail "$how: unclear error: $(cat "$work/err")"
        [ "$(cat "$d/subuid")" = "$sub_before" ] || fail "$how: /etc/subuid changed"
        # (The manifest in root's /var/lib/usernode is written first, by design: unsetup reads it.)
        [ -z "$(find "$d" -mindepth 1 -newer "$work/out")" ] || fail "$how: written: $(find "$d" -mindepth 1 -newer "$work/out")"
        echo "privilege: /etc writable by another user ($how): $(grep refusing "$work/err")"
done

# The live host: root's `check --user` for a user whose home and runtime dir are all symlinks out.
LIVE_USER=usernode-priv
id "$LIVE_USER" >/dev/null 2>&1 || useradd -m "$LIVE_USER"
lhome=$(getent passwd "$LIVE_USER" | cut -d: -f6)
luid=$(id -u "$LIVE_USER")
for n in .config .local .cache .bashrc .profile; do
        rm -rf "${lhome:?}/$n"
        ln -s "$work/outside" "$lhome/$n"
done
chown -h "$LIVE_USER:" "$lhome"/.config "$lhome"/.local "$lhome"/.cache "$lhome"/.bashrc "$lhome"/.profile
for probes in --no-probes ""; do
        set +e
        # shellcheck disable=SC2086
        timeout 60 strace -f -qq -o "$work/trace" -e trace=open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,chmod,fchmodat,chown,fchownat \
                "$USERNODE" check --user "$LIVE_USER" $probes > "$work/out" 2> "$work/err"
        rc=$?
        set -e
        [ "$rc" -le 1 ] || fail "live check $probes: exit $rc: $(cat "$work/err")"
        ! grep -q "$canary" "$work/out" "$work/err" || fail "live check $probes: read a file outside"
        if grep -E "\"($lhome|/run/user/$luid)" "$work/trace" | grep -v ENOENT; then
                fail "live check $probes: opened something of $LIVE_USER's"
        fi
        echo "privilege: live 'check --user $LIVE_USER $probes' (exit $rc): nothing of the user's opened"
done
[ "$(snapshot_outside)" = "$before" ] || fail "a file outside the root changed"

# Root's live check for a user: its probe child becomes that user's and dumpable (newuidmap writes its maps),
# so it must be a fresh image, not a fork of root's; the version queries (pasta, slirp4netns, rootlesskit,
# containerd, crun, ... --version) run as the user too. A watcher running as the user reads the environment
# of every process of the user's while the check runs, and must not find root's.
if command -v python3 >/dev/null; then
        mkdir -p "$work/watch" && chmod 1777 "$work/watch" && chmod 0755 "$work"
        setpriv --reuid="$LIVE_USER" --regid="$LIVE_USER" --init-groups env PATH=/usr/bin:/bin python3 -c '
import os, sys
uid, out = os.getuid(), sys.argv[1]
seen = leak = 0
open(out + ".ready", "w").close()
while not os.path.exists(out + ".stop"):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat("/proc/" + pid).st_uid != uid or int(pid) == os.getpid():
                continue
            cmd = open("/proc/%s/cmdline" % pid, "rb").read()
            env = open("/proc/%s/environ" % pid, "rb").read()
        except OSError:
            continue
        seen += 1
        leak += b"USERNODE_ROOT_SECRET" in env
open(out, "w").write("%d %d\n" % (seen, leak))
' "$work/watch/result" &
        watcher=$!
        for _ in $(seq 1 100); do [ -e "$work/watch/result.ready" ] && break; sleep 0.05; done
        USERNODE_ROOT_SECRET=hunter2 "$USERNODE" check --user "$LIVE_USER" > /dev/null 2>&1 || :
        : > "$work/watch/result.stop"
        wait "$watcher"
        read -r seen leak < "$work/watch/result"
        [ "$leak" = 0 ] || fail "root's environment was readable by $LIVE_USER in its processes ($leak reads)"
        echo "privilege: the user read $seen environments of its processes during root's check, none root's"
fi

# Version queries (check runs them as root, found on the user's PATH) run as that user, not as root:
# no capabilities, PR_SET_NO_NEW_PRIVS. The stub reports into a sticky world-writable directory.
# It reads its status with shell builtins (no sed to start) and writes atomically: check gives
# rootlesskit's version query 40 ms, and a stub killed at that deadline before it wrote says
# nothing; on a loaded machine that happens, so a silent run is tried again rather than taken for
# an answer.
chmod 0755 "$work"
mkdir -p "$work/bin" "$work/report"
chmod 1777 "$work/report"
cat > "$work/bin/rootlesskit" <<STUB
#!/bin/bash
{
        while read -r key value; do
                case \$key in Uid:|CapEff:|NoNewPrivs:) echo "\$value" ;; esac
        done < /proc/self/status
        # What the user it runs as can read of it: its environment.
        leak=0
        while IFS= read -r -d '' kv; do
                case \$kv in USERNODE_ROOT_SECRET=*) leak=1 ;; esac
        done < /proc/self/environ
        echo "\$leak"
} > "$work/report/status.tmp"
mv "$work/report/status.tmp" "$work/report/status"
echo "rootlesskit version 1.1.0"
STUB
chmod 755 "$work/bin/rootlesskit"
for attempt in 1 2 3 4 5; do
        USERNODE_ROOT_SECRET=hunter2 PATH="$work/bin:$PATH" "$USERNODE" check --user "$LIVE_USER" --no-probes \
                > /dev/null 2>&1 || true
        [ ! -f "$work/report/status" ] || break
done
[ -f "$work/report/status" ] || skip "check never let rootlesskit --version finish here ($attempt tries)"
{ read -r uids; read -r capeff; read -r nnp; read -r leak; } < "$work/report/status" ||
        fail "stub report: $(cat "$work/report/status")"
[ "${uids%%[[:space:]]*}" = "$luid" ] || fail "rootlesskit --version ran as UID ${uids%%[[:space:]]*}, not as $LIVE_USER ($luid)"
[ "$capeff" = 0000000000000000 ] || fail "rootlesskit --version ran with capabilities $capeff"
[ "$nnp" = 1 ] || fail "rootlesskit --version ran without PR_SET_NO_NEW_PRIVS (NoNewPrivs: $nnp)"
[ "$leak" = 0 ] || fail "rootlesskit --version ran with root's environment, readable by $LIVE_USER"
echo "privilege: version queries run as $LIVE_USER, no capabilities, NoNewPrivs: 1, an environment of their own"
# A binary that another user could have put there is not run at all.
mkdir -p "$work/open" && chmod 0777 "$work/open" && cp "$work/bin/rootlesskit" "$work/open/" && rm -f "$work/report/status"
PATH="$work/open:$PATH" "$USERNODE" check --user "$LIVE_USER" --no-probes > /dev/null 2>&1 || true
[ ! -e "$work/report/status" ] || fail "check ran a rootlesskit from a directory every user can write to"
