#!/bin/bash
# The packages: builds the .deb from the dist tarball ("make deb"), lints it, checks where its files
# land and that it has no maintainer script touching /etc, installs it into a scratch root with
# "dpkg --root" and runs that installed usernode (--version, check --root, the bash completion).
# With rpmbuild present it also builds the RPMs ("make rpm") and runs rpmlint.
# Run by "make check-package"; it needs dpkg-dev, debhelper and lintian (and rpm, rpmlint).
. "${top_srcdir:-.}/tests/integration/lib.sh"
set -o pipefail

: "${top_builddir:?}" "${MAKE:=make}"
for tool in dpkg-buildpackage dh lintian; do
        command -v "$tool" >/dev/null || skip "$tool is not installed (apt-get install dpkg-dev debhelper lintian)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/usernode-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")
[ -n "$version" ] || fail "no PACKAGE_VERSION in $top_builddir/config.h"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# --- build -------------------------------------------------------------------------------------
t0=$(now)
$MAKE -C "$top_builddir" deb >"$work/deb.log" 2>&1 || { tail -40 "$work/deb.log"; fail "make deb failed"; }
echo "make deb: $(elapsed "$t0") s"
# Globs, not "ls | head": under pipefail a reader that stops early can fail the writer (SIGPIPE).
debs=("$top_builddir"/deb/usernode_"${version}"_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || fail "make deb produced no usernode_${version}_*.deb"
changes_files=("$top_builddir"/deb/usernode_"${version}"_*.changes)
changes=${changes_files[0]}
[ -f "$changes" ] || fail "make deb produced no usernode_${version}_*.changes"

# --- lintian: no error, no warning (overrides, each with its reason, are in debian/) -------------
lintian --fail-on none "$changes" >"$work/lintian.log" 2>&1 || true
echo "lintian: $(grep -c '^E:' "$work/lintian.log" || true) errors," \
     "$(grep -c '^W:' "$work/lintian.log" || true) warnings, $(grep -c '^[IPX]:' "$work/lintian.log" || true) other"
if grep -q '^[EW]:' "$work/lintian.log"; then
        cat "$work/lintian.log"
        fail "lintian reports errors or warnings"
fi

# --- contents ----------------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$work/contents"
want=(
        ./usr/bin/usernode
        ./usr/lib/systemd/user/usernode@.service
        ./usr/share/man/man8/usernode.8.gz
        ./usr/share/bash-completion/completions/usernode
        ./usr/share/doc/usernode/copyright
)
for p in "${want[@]}"; do
        grep -qxF "$p" "$work/contents" || fail "the package lacks $p"
done
# The templates are compiled into the binary: nothing of them is installed.
if grep -q '^\./usr/share/usernode' "$work/contents"; then
        grep '^\./usr/share/usernode' "$work/contents"
        fail "the package installs files under /usr/share/usernode: the templates are compiled in"
fi
if grep -q '^\./etc/' "$work/contents"; then
        grep '^\./etc/' "$work/contents"
        fail "the package ships files in /etc: installing it would change the host"
fi

# Maintainer scripts: none may write /etc, enable a unit or reload a manager.
dpkg-deb -e "$deb" "$work/control"
for s in preinst postinst prerm postrm config triggers; do
        [ -e "$work/control/$s" ] || continue
        if grep -nE '/etc|deb-systemd-helper|systemctl|sysctl|modprobe|usermod' "$work/control/$s"; then
                fail "maintainer script $s changes the host"
        fi
done
[ ! -e "$work/control/conffiles" ] || fail "the package has conffiles: $(cat "$work/control/conffiles")"

# --- install into a scratch root -----------------------------------------------------------------
# dpkg --root needs its database there; --force-depends because the scratch root has none of
# the dependencies (uidmap, libc ...): the binary runs on this host's libraries.
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
dpkg --root="$root" --force-depends --force-not-root --force-script-chrootless --log=/dev/null \
        -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg --root -i failed"; }
grep -q '^Status: install ok installed$' "$root/var/lib/dpkg/status" || fail "dpkg does not record usernode as installed"
installed="$root/usr/bin/usernode"
[ -x "$installed" ] || fail "no $installed after dpkg -i"

out=$("$installed" --version)
[ "$out" = "usernode $version" ] || fail "installed usernode --version printed '$out', expected 'usernode $version'"

grep -qxF 'ExecStart=/usr/bin/usernode up --foreground --name %i' "$root/usr/lib/systemd/user/usernode@.service" ||
        fail "the installed unit does not start /usr/bin/usernode up --foreground --name %i"
for k in Delegate=yes KillMode=mixed LimitNOFILE=1048576 Restart=on-failure; do
        grep -qxF "$k" "$root/usr/lib/systemd/user/usernode@.service" || fail "the installed unit lacks $k"
done
# systemd's own parser on the installed unit (pointed at the installed binary): any complaint fails.
if command -v systemd-analyze >/dev/null; then
        mkdir -p "$work/units"
        sed "s|/usr/bin/usernode|$installed|" "$root/usr/lib/systemd/user/usernode@.service" >"$work/units/usernode@.service"
        XDG_RUNTIME_DIR="$work/units" systemd-analyze --user --man=no verify "$work/units/usernode@ci.service" \
                >"$work/verify.log" 2>&1 || true
        [ ! -s "$work/verify.log" ] || { cat "$work/verify.log"; fail "systemd-analyze verify complains about the unit"; }
fi
zcat "$root/usr/share/man/man8/usernode.8.gz" >"$work/usernode.8"
grep -q '^\.SH EXIT STATUS' "$work/usernode.8" || fail "the installed man page has no EXIT STATUS"

# A small offline host: Debian 12, cgroup v2, one user with sub-IDs.
host="$work/host"
mkdir -p "$host/etc" "$host/proc/self" "$host/proc/sys/kernel" "$host/proc/sys/user" "$host/sys/fs/cgroup"
cat >"$host/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
EOF
printf 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n' >"$host/etc/passwd"
printf 'root:x:0:\nalice:x:1000:\n' >"$host/etc/group"
printf 'alice:100000:65536\n' >"$host/etc/subuid"
printf 'alice:100000:65536\n' >"$host/etc/subgid"
echo 6.1.0-27-amd64 >"$host/proc/sys/kernel/osrelease"
echo 63432 >"$host/proc/sys/user/max_user_namespaces"
echo '25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate' \
        >"$host/proc/self/mountinfo"
echo 'cpuset cpu io memory hugetlb pids' >"$host/sys/fs/cgroup/cgroup.controllers"

# The installed binary must report what the tree's binary reports, on that host and on every
# fixture host of the tree (the fixtures' modes are not applied: both binaries see the same).
roots=("$host")
for f in "$top_srcdir"/tests/fixtures/*/root; do
        # A fixture laid over a base needs the fixture runner to assemble it.
        [ -d "$f" ] && [ ! -f "${f%/root}/base" ] && roots+=("$f")
done
for r in "${roots[@]}"; do
        args=(--user alice)
        [ -f "${r%/root}/args" ] && read -r -a args <"${r%/root}/args"
        set +e
        "$installed" check --root "$r" "${args[@]}" --json >"$work/installed.json" 2>"$work/installed.err"
        rc_installed=$?
        "$top_builddir/usernode" check --root "$r" "${args[@]}" --json >"$work/tree.json" 2>&1
        rc_tree=$?
        set -e
        case $rc_installed in 0|1) ;; *) cat "$work/installed.err"; fail "installed usernode check --root $r exited $rc_installed" ;; esac
        [ "$rc_installed" -eq "$rc_tree" ] || fail "check --root $r: installed exited $rc_installed, tree $rc_tree"
        cmp -s "$work/installed.json" "$work/tree.json" || {
                diff -u "$work/tree.json" "$work/installed.json" || true
                fail "check --root $r: the installed usernode reports differently from the tree's"
        }
        grep -q '"schema": *"usernode.report/v1"' "$work/installed.json" || fail "check --root $r --json: no report schema"
        grep -q '"cgroup.v2"' "$work/installed.json" || fail "check --root $r --json: no cgroup.v2 check"
        if [ "$r" = "$host" ]; then
                flat=$(tr -d ' \n' <"$work/installed.json")
                case $flat in
                *'"root":"'"$host"'"'*) ;;
                *) fail "the Debian 12 host: the report does not name its root" ;;
                esac
                case $flat in
                *'{"id":"cgroup.v2","status":"pass"'*) ;;
                *) fail "the Debian 12 cgroup v2 host: cgroup.v2 does not pass" ;;
                esac
        fi
done

# The installed binary needs no file of templates: setup --dry-run on an AppArmor-restricted Ubuntu
# tree (a fixture over its base) prints the profile rendered from the template compiled in.
fixture=$top_srcdir/tests/fixtures/ubuntu2404-apparmor
aa_host=$work/apparmor-host
mkdir "$aa_host"
cp -a "$top_srcdir/tests/fixtures/$(cat "$fixture/base")/root/." "$fixture/root/." "$aa_host/"
env -u USERNODE_TEMPLATE_DIR "$installed" setup --dry-run --root "$aa_host" --user alice >"$work/setup-dry-run" 2>&1 ||
        { cat "$work/setup-dry-run"; fail "installed usernode setup --dry-run on the AppArmor host failed"; }
grep -q '^+profile usernode-rootlesskit /usr/bin/rootlesskit ' "$work/setup-dry-run" ||
        { cat "$work/setup-dry-run"; fail "installed usernode setup --dry-run rendered no AppArmor profile"; }
echo "installed usernode: --version, check --root on ${#roots[@]} host(s) and setup --dry-run ok"

# --- bash completion, as installed -----------------------------------------------------------------
mkdir -p "$work/run/usernode/ci-1234/" "$work/home/.local/share/usernode/nodes/dev/"
complete_words() {
        # complete_words WORD...: prints the completions of the last word, one per line.
        PATH="$root/usr/bin:$PATH" XDG_RUNTIME_DIR="$work/run" HOME="$work/home" XDG_DATA_HOME='' bash -c '
                comp=$1; shift
                [ "$WITH_BC" = 1 ] && . /usr/share/bash-completion/bash_completion
                . "$comp"
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                _usernode usernode "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                printf "%s\n" "${COMPREPLY[@]}"' _ "$root/usr/share/bash-completion/completions/usernode" "$@"
}
# offers COMPLETION WORD...: completing WORD... offers COMPLETION. The completions are captured whole first:
# "complete_words | grep -q" would fail under pipefail whenever grep stopped reading before bash's
# printf wrote its last line (SIGPIPE).
offers() {
        local completion=$1 out
        shift
        out=$(complete_words "$@")
        grep -qxF -- "$completion" <<<"$out"
}
mkdir -p "$work/stub"
printf '#!/bin/sh\n[ "$*" = "check --list-ids" ] && printf "check stub.listed\\nfeature pods\\n"\n' >"$work/stub/usernode"
chmod +x "$work/stub/usernode"
modes=(0)
[ -r /usr/share/bash-completion/bash_completion ] && modes+=(1)
for WITH_BC in "${modes[@]}"; do
        export WITH_BC
        offers check usernode ch || fail "completion: 'usernode ch' does not give check"
        offers --ephemeral usernode up --ep || fail "completion: up --ep"
        out=$(complete_words usernode check --pu)
        [ -z "$out" ] || fail "completion: check offers up's options: $out"
        offers --restart-user-manager usernode setup --restart || fail "completion: setup --restart"
        offers cgroup.v2 usernode check --ignore cgroup.v || fail "completion: --ignore cgroup.v"
        offers net.tun,subid.uid usernode check --ignore net.tun,sub || fail "completion: --ignore list"
        out=$(complete_words usernode down --name '' | sort | tr '\n' ' ')
        [ "$out" = "ci-1234 dev " ] || fail "completion: down --name gave '$out'"
        offers pasta usernode up --net p || fail "completion: --net"
        offers kmod.vxlan usernode check --ignore kmod.v || fail "completion: --ignore kmod.v"
        offers 'kmod.*' usernode check --ignore kmod || fail "completion: --ignore kmod.*"
        # The IDs come from the usernode being completed, and from the static list when it cannot
        # list them (false stands for a usernode without --list-ids).
        offers stub.listed "$work/stub/usernode" check --ignore stub. || fail "completion: IDs not from check --list-ids"
        out=$(complete_words "$work/stub/usernode" check --ignore p)
        [ -z "$out" ] || fail "completion: --ignore offers feature IDs: $out"
        offers memory.swap /bin/false check --ignore memory. || fail "completion: no static IDs without --list-ids"
done
echo "bash completion: ok (${#modes[@]} mode(s))"

# --- rpm ---------------------------------------------------------------------------------------------
if command -v rpmbuild >/dev/null; then
        t0=$(now)
        $MAKE -C "$top_builddir" rpm >"$work/rpm.log" 2>&1 || { tail -40 "$work/rpm.log"; fail "make rpm failed"; }
        echo "make rpm: $(elapsed "$t0") s"
        rpms=("$top_builddir"/rpmbuild/RPMS/*/usernode-"$version"-1*.rpm)
        srpms=("$top_builddir"/rpmbuild/SRPMS/usernode-"$version"-1*.src.rpm)
        rpm=${rpms[0]} srpm=${srpms[0]}
        [ -f "$rpm" ] && [ -f "$srpm" ] || fail "make rpm did not produce the binary and source RPMs"
        rpm -qlp "$rpm" >"$work/rpm-contents" 2>/dev/null
        for p in /usr/bin/usernode /usr/lib/systemd/user/usernode@.service /usr/share/bash-completion/completions/usernode; do
                grep -qxF "$p" "$work/rpm-contents" || fail "the RPM lacks $p"
        done
        ! grep '^/usr/share/usernode' "$work/rpm-contents" || fail "the RPM installs the files above: the templates are compiled in"
        # Compressed on Fedora (brp-compress), not by Debian's rpm.
        grep -qE '^/usr/share/man/man8/usernode\.8(\.gz|\.xz|\.bz2|\.zst)?$' "$work/rpm-contents" ||
                fail "the RPM lacks the man page"
        [ -z "$(rpm -qp --scripts "$rpm" 2>/dev/null)" ] || fail "the RPM has scriptlets"
        if command -v rpmlint >/dev/null; then
                rpmlint -r "$top_srcdir/distro/rpm/usernode.rpmlintrc" "$rpm" "$srpm" "$top_builddir/rpmbuild/SPECS/usernode.spec" >"$work/rpmlint.log" 2>&1 || true
                tail -1 "$work/rpmlint.log"
                if grep -q ': E: ' "$work/rpmlint.log"; then
                        cat "$work/rpmlint.log"
                        fail "rpmlint reports errors"
                fi
        else
                echo "rpmlint: not installed, not run"
        fi
else
        echo "rpm: rpmbuild is not installed, not built"
fi
echo "package: ok"
