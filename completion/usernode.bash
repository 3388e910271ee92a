# SPDX-License-Identifier: GPL-2.0-or-later
# bash completion for usernode(8)

# Check IDs as usernode(8) lists them; used when the installed usernode cannot list its own.
_usernode_static_ids="kernel.version userns.enabled userns.apparmor cgroup.v2 cgroup.delegation
cgroup.controller.cpu cgroup.controller.cpuset cgroup.controller.io cgroup.controller.memory
cgroup.controller.pids cgroup.controller.hugetlb memory.swap subid.uid subid.gid subid.tools
systemd.user net.tun net.driver net.cidr net.dns net.ports net.ipv6 net.source-ip
sysctl.ip_forward sysctl.ping_group_range sysctl.unprivileged_port_start sysctl.rp_filter
fs.overlay kmod.* kmod.br_netfilter kmod.nf_tables kmod.overlay kmod.ip_tables kmod.iptable_nat kmod.vxlan
engine.k3s engine.kubelet limits.nofile limits.inotify"

_usernode_ids() {
        local ids
        # Newer usernode lists its IDs itself; anything else (old binary, error) falls back.
        if ids=$("${1:-usernode}" check --list-ids 2>/dev/null) && [[ -n $ids ]]; then
                printf '%s\n' "$ids"
        else
                printf '%s\n' $_usernode_static_ids
        fi
}

_usernode_nodes() {
        local d
        # Running nodes live under the runtime dir, persistent ones under the data dir.
        for d in "${XDG_RUNTIME_DIR:-/run/user/$UID}"/usernode/*/ \
                 "${XDG_DATA_HOME:-$HOME/.local/share}"/usernode/nodes/*/; do
                [[ -d $d ]] || continue
                d=${d%/}
                d=${d##*/}
                [[ $d == setup || $d == nodes ]] && continue
                printf '%s\n' "$d"
        done | sort -u
}

_usernode() {
        local cur prev words cword
        if declare -F _init_completion >/dev/null; then
                _init_completion -n =: || return
        else
                cur=${COMP_WORDS[COMP_CWORD]}
                prev=${COMP_WORDS[COMP_CWORD - 1]}
                words=("${COMP_WORDS[@]}")
                cword=$COMP_CWORD
        fi

        local verbs="check setup unsetup up down status exec"
        local -A opts=(
                [check]="--user --engine --json --ignore --strict --no-probes --root --help"
                [setup]="--user --dry-run --no-linger --delegate --subids --fast-net --privileged-ports
                         --restart-user-manager --force --root --help"
                [unsetup]="--user --dry-run --force --root --help"
                [up]="--engine --net --port-driver --name --ephemeral --wait --wait= --foreground --config
                      --server --token --token-file --discovery-token-ca-cert-hash --ca-file
                      --discovery-token-unsafe-skip-ca-verification --node-ip --pod-pids-limit
                      --publish --cidr --cluster-cidr --service-cidr --dry-run --ignore --json --help"
                [down]="--name --purge --help"
                [status]="--name --json --help"
                [exec]="--name --help --"
        )

        local verb="" i
        for ((i = 1; i < cword; i++)); do
                if [[ -n ${opts[${words[i]}]+set} ]]; then
                        verb=${words[i]}
                        break
                fi
        done

        # Everything after "exec ... --" is a command line of its own.
        if [[ $verb == exec ]]; then
                for ((i = i + 1; i < cword; i++)); do
                        if [[ ${words[i]} == -- ]]; then
                                if declare -F _command_offset >/dev/null; then
                                        _command_offset $((i + 1))
                                else
                                        COMPREPLY=($(compgen -c -- "$cur"))
                                fi
                                return
                        fi
                done
        fi

        case $prev in
        --user|-u)
                COMPREPLY=($(compgen -u -- "$cur"))
                return ;;
        --engine)
                COMPREPLY=($(compgen -W "k3s kubelet" -- "$cur"))
                return ;;
        --net)
                COMPREPLY=($(compgen -W "auto lxc-user-nic pasta slirp4netns" -- "$cur"))
                return ;;
        --port-driver)
                COMPREPLY=($(compgen -W "builtin slirp4netns" -- "$cur"))
                return ;;
        --delegate)
                COMPREPLY=($(compgen -W "cpu cpuset io memory pids hugetlb" -- "$cur"))
                return ;;
        --name)
                COMPREPLY=($(compgen -W "$(_usernode_nodes)" -- "$cur"))
                return ;;
        --root)
                COMPREPLY=($(compgen -d -- "$cur"))
                return ;;
        --config|--token-file|--ca-file)
                COMPREPLY=($(compgen -f -- "$cur"))
                return ;;
        --ignore)
                # A comma-separated list: complete the last element, keep the ones before it.
                local head="" last=$cur
                if [[ $cur == *,* ]]; then
                        head=${cur%,*},
                        last=${cur##*,}
                fi
                COMPREPLY=($(compgen -P "$head" -W "$(_usernode_ids "${words[0]}")" -- "$last"))
                compopt -o nospace 2>/dev/null
                return ;;
        --subids|--server|--token|--publish|--cidr|--cluster-cidr|--service-cidr|--discovery-token-ca-cert-hash|--node-ip|--pod-pids-limit)
                return ;;
        esac

        if [[ -z $verb ]]; then
                COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur"))
                return
        fi
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "${opts[$verb]}" -- "$cur"))
                [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace 2>/dev/null
        fi
}

complete -F _usernode usernode
