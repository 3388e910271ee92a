#!/bin/bash
# Benchmark of `usernode check`: wall time (hyperfine, median) with and without live probes, and
# peak RSS (/usr/bin/time -v). Targets (DESIGN.md): <= 50 ms median with probes, <= 8 MiB RSS.
# usage: tests/bench/check.sh [USERNODE] [USER]   (run from the top of a built tree)
set -euo pipefail

usernode=${1:-./usernode}
user=${2:-${SUDO_USER:-$(id -un)}}
runs=${RUNS:-30}

command -v hyperfine >/dev/null || { echo "hyperfine is not installed (apt-get install hyperfine)" >&2; exit 1; }
[ -x "$usernode" ] || { echo "no usernode at $usernode: build first" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

hyperfine --warmup 3 --runs "$runs" -N -i --export-json "$out/check.json" \
        -n "check (probes)" "$usernode check --user $user" \
        -n "check --no-probes" "$usernode check --user $user --no-probes" >&2

python3 - "$out/check.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f'{r["command"]:<20} median {r["median"] * 1000:6.1f} ms  mean {r["mean"] * 1000:6.1f} ms  '
          f'min {r["min"] * 1000:6.1f} ms  max {r["max"] * 1000:6.1f} ms')
PY

for mode in "" "--no-probes"; do
        /usr/bin/time -v "$usernode" check --user "$user" $mode > /dev/null 2> "$out/time" || true
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time")
        printf 'check %-12s peak RSS %d KiB\n' "${mode:-(probes)}" "$rss"
done
