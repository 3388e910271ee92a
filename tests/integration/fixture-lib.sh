# Laying out fixture hosts (tests/fixtures/NAME) as a tree to examine or change; sourced after lib.sh.
# A fixture may start from another one's tree ("base" names it) and lay its own root/ over it. Its
# "modes" file gives what git cannot store: "MODE PATH" (chmod), "cap CAPS PATH" (setcap),
# "owner UID:GID PATH" (chown), "rm PATH" to take a file of the base away, and "link TARGET PATH" for a symbolic
# link (git stores links, but the dist tarball, made with tar -h, dereferences them and drops dangling ones).

fixtures=${top_srcdir}/tests/fixtures

apply_modes() {
        [ -f "$1" ] || return 0
        while read -r what a b; do
                case $what in
                ""|"#"*) ;;
                cap) setcap "$a" "$2/$b" ;;
                owner) chown -h "$a" "$2/$b" ;;
                rm) rm -rf "${2:?}/$a" ;;
                link) mkdir -p "$(dirname "$2/$b")" && ln -sfn "$a" "$2/$b" ;;
                *) chmod "$what" "$2/$a" ;;
                esac
        done < "$1"
}

# lay FIXTURE_DIR DEST: the fixture's base first (recursively), then its own tree and modes.
lay() {
        if [ -f "$1/base" ]; then
                lay "$fixtures/$(cat "$1/base")" "$2"
        fi
        [ ! -d "$1/root" ] || cp -a "$1/root/." "$2/"
        apply_modes "$1/modes" "$2"
}

# lay_fixture FIXTURE_DIR DEST: a fresh DEST with the fixture's whole tree, placeholders removed.
lay_fixture() {
        mkdir "$2"
        lay "${1%/}" "$2"
        find "$2" -name .keep -delete
}

# setuid-root binaries, file capabilities and setup need root, real or namespaced.
need_fixture_root() {
        if [ "$(id -u)" -ne 0 ]; then
                if [ -z "${USERNODE_IN_USERNS:-}" ] && unshare -r true 2>/dev/null; then
                        USERNODE_IN_USERNS=1 exec unshare -r sh "$0" "$@"
                fi
                skip "needs root or an unprivileged user namespace (unshare -r)"
        fi
}
