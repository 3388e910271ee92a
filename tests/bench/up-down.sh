#!/bin/sh
# Median of 10: `up --engine kubelet --ephemeral --wait` (kubelet stand-in, so "ready" is containerd
# answering plus the stand-in's sd_notify) and `down --purge`; the supervisor's RSS and idle CPU.
# Run as an ordinary user with a sub-ID range: USERNODE=build/usernode sh tests/bench/up-down.sh
# NET=slirp4netns (default auto) picks the network driver.
set -eu
: "${USERNODE:=./usernode}" "${top_srcdir:=.}"
export PATH="$top_srcdir/tests/stand-ins:$PATH"
failing=$("$USERNODE" check --engine kubelet --json | jq -r '[.checks[] | select(.status=="fail") | .id] | join(",")')
ign=""; [ -z "$failing" ] || ign="--ignore=$failing"
ms() { date +%s%N | cut -c1-13; }
ups=""; downs=""
for i in 1 2 3 4 5 6 7 8 9 10; do
        t0=$(ms); out=$("$USERNODE" up --engine kubelet --net "${NET:-auto}" --ephemeral --wait=60 --json $ign 2>/dev/null); t1=$(ms)
        name=$(echo "$out" | jq -r .name)
        if [ "$i" -eq 10 ]; then
                sup=$(echo "$out" | jq -r .pids.supervisor)
                "$USERNODE" exec --name "$name" -- ctr version >/dev/null
                c0=$(awk '{print $14+$15}' "/proc/$sup/stat"); sleep 5; c1=$(awk '{print $14+$15}' "/proc/$sup/stat")
                echo "supervisor: $(grep VmRSS "/proc/$sup/status" | tr -s ' \t' ' '); CPU ticks in 5 s idle: $((c1 - c0))"
        fi
        t2=$(ms); "$USERNODE" down --name "$name" --purge; t3=$(ms)
        ups="$ups $((t1 - t0))"; downs="$downs $((t3 - t2))"
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print (a[5]+a[6])/2}'; }
echo "net: ${NET:-auto}"
echo "up (to ready) ms:   $ups  median $(median "$ups")  (target 300)"
echo "down --purge ms:    $downs  median $(median "$downs")  (target 150)"
