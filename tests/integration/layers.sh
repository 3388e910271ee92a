#!/bin/bash
# The layers of src/ (README "Layout"): each library may take symbols only from the layers below it.
# The include paths already refuse an upward #include; this catches an upward call made without one
# (a prototype written by hand, an extern).
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v nm >/dev/null || skip "nm is not installed (binutils)"
layers=(basic host check setup cluster net init node)
declare -A level=([basic]=0 [host]=1 [check]=2 [setup]=2 [cluster]=2 [net]=2 [init]=3 [node]=4) owner=()
for d in "${top_srcdir:-.}"/src/*/; do
        d=$(basename "$d")
        [ -n "${level[$d]:-}" ] || fail "src/$d is in no layer of this table"
done
cd "${top_builddir:-.}" || fail "no build directory"
for l in "${layers[@]}"; do
        [ -f "lib$l.a" ] || fail "lib$l.a is not built"
        while read -r sym; do
                owner[$sym]=$l
        done < <(nm -g --defined-only "lib$l.a" | awk 'NF == 3 && $2 ~ /^[TDBRV]$/ { print $3 }')
done
bad=0
checked=0
for l in "${layers[@]}"; do
        while read -r object sym; do
                checked=$((checked + 1))
                o=${owner[$sym]:-}
                [ -n "$o" ] && [ "$o" != "$l" ] || continue
                if [ "${level[$o]}" -ge "${level[$l]}" ]; then
                        echo "layers: src/$l ($object) calls $sym of src/$o, not a lower layer" >&2
                        bad=1
                fi
        done < <(nm -A -u "lib$l.a" | awk -F: '{ n = split($3, f, " "); print $2, f[n] }')
done
[ "$checked" -gt 100 ] || fail "only $checked undefined symbols read: nm's output was not understood"
[ "$bad" = 0 ] || fail "a layer calls upward"
echo "layers: $checked references across ${layers[*]/#/src/}, none upward"
