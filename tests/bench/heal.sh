#!/bin/bash
# A daemon of a running usernode cluster killed -> the cluster healthy again (the API's /readyz ok, a
# ConfigMap there, a 2-replica Deployment Ready), per daemon, medians of ROUNDS (5) runs of
# tests/integration/heal-real.sh (real Kubernetes in USERNODE_K8S_BIN, Debian's etcd and containerd).
#   USERNODE_K8S_BIN=/path/to/bin top_srcdir=. USERNODE=./usernode bash tests/bench/heal.sh
set -euo pipefail
: "${USERNODE:=./usernode}" "${top_srcdir:=.}" "${ROUNDS:=5}"
USERNODE=$(readlink -f "$USERNODE")
top_srcdir=$(readlink -f "$top_srcdir")
export USERNODE top_srcdir top_builddir=${top_builddir:-$top_srcdir}
timings=$(mktemp)
trap 'rm -f "$timings"' EXIT
for _ in $(seq 1 "$ROUNDS"); do
        HEAL_TIMINGS=$timings bash "$top_srcdir/tests/integration/heal-real.sh" >/dev/null
done
echo "daemon killed -> cluster healthy again, ms, median of $ROUNDS (all runs)"
for d in $(cut -d' ' -f1 "$timings" | awk '!seen[$0]++'); do
        all=$(awk -v d="$d" '$1 == d { print $2 }' "$timings" | sort -n)
        n=$(wc -l <<<"$all")
        printf '%-24s %6s   (%s)\n' "$d" "$(sed -n "$(( (n + 1) / 2 ))p" <<<"$all")" "$(paste -sd' ' <<<"$all")"
done
