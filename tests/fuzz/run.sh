#!/bin/bash
# Builds every libFuzzer target (clang -fsanitize=fuzzer,address,undefined) against the library
# sources and runs each for FUZZ_SECONDS, seeded from tests/fuzz/corpus/<target>/ and the fixtures.
# usage: run.sh SRCDIR BUILDDIR [TARGET...]   (BUILDDIR holds config.h; results in BUILDDIR/fuzz)
# FUZZ_JOBS=N runs N targets at once.
set -euo pipefail

srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
shift 2
seconds=${FUZZ_SECONDS:-10}
out=$builddir/fuzz
mkdir -p "$out"

command -v clang >/dev/null || { echo "fuzz: clang is not installed (apt-get install clang)" >&2; exit 77; }

# The pkg-config modules the library uses, from configure (make fuzz passes them).
libs=${USERNODE_PKG_MODULES:?run through make fuzz, or set USERNODE_PKG_MODULES as configure does}
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -include $builddir/config.h \
        -I$builddir $(for d in "$srcdir"/src "$srcdir"/src/*/; do printf -- '-I%s ' "$d"; done) $(pkg-config --cflags $libs)"
ldlibs=$(pkg-config --libs $libs)

# The layers' sources (src/*/), not the command line (src/*.c).
lib_sources=$(ls "$srcdir"/src/*/*.c)
objdir=$out/obj
mkdir -p "$objdir"
objs=()
for s in $lib_sources; do
        # Named with their folder: host/cgroup.c and check/cgroup.c are two objects.
        o=$objdir/$(basename "$(dirname "$s")")-$(basename "${s%.c}").o
        objs+=("$o")
        if [ ! -f "$o" ] || [ "$s" -nt "$o" ]; then
                # -fsanitize=fuzzer-no-link: coverage for the library, the fuzzer's main only in targets.
                clang ${cflags/fuzzer,/fuzzer-no-link,} -c "$s" -o "$o"
        fi
done

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(cd "$srcdir/tests/fuzz" && ls fuzz-*.c | sed 's/\.c$//'))

# Build every target first (they share the objects), then run FUZZ_JOBS of them at a time.
for t in "${targets[@]}"; do
        clang $cflags "$srcdir/tests/fuzz/$t.c" "${objs[@]}" $ldlibs -o "$out/$t"
done

run_one() {
        local t=$1 corpus=$out/corpus/$1 seeds=$srcdir/tests/fuzz/corpus/${1#fuzz-} rc
        mkdir -p "$corpus"
        set +e
        "$out/$t" -max_total_time="$seconds" -max_len=65536 -timeout=5 -rss_limit_mb=1024 \
                -artifact_prefix="$out/$t-" -print_final_stats=1 "$corpus" $( [ -d "$seeds" ] && echo "$seeds") \
                > "$out/$t.log" 2>&1
        rc=$?
        set -e
        echo "$rc" > "$out/$t.rc"
}

jobs=${FUZZ_JOBS:-1}
running=0
for t in "${targets[@]}"; do
        run_one "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
                wait -n || true
                running=$((running - 1))
        fi
done
wait

total_execs=0
crashes=0
for t in "${targets[@]}"; do
        log=$out/$t.log
        rc=$(cat "$out/$t.rc")
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n1)
        total_execs=$((total_execs + ${execs:-0}))
        if [ "$rc" -ne 0 ]; then
                crashes=$((crashes + 1))
                echo "fuzz: $t FAILED (exit $rc), see $log and $out/$t-*" >&2
                tail -n 30 "$log" >&2
        else
                printf 'fuzz: %-28s %10s executions in %ss\n' "$t" "${execs:-?}" "$seconds"
        fi
done
echo "fuzz: ${#targets[@]} targets, $total_execs executions, $crashes failing"
[ "$crashes" -eq 0 ]
