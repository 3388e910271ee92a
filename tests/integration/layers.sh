#!/bin/bash
# The layers of src/ (README "Layout"): each library may take symbols only from the layers below it.
# The include paths already refuse an upward #include; this catches an upward call made without one
# (a prototype written by hand, an extern).
. "${top_srcdir:-.}/tests/integration/lib.sh"

command -v nm >/dev/null || skip "nm is not installed (binutils)"
cd "${top_builddir:-.}" || fail "no build directory"
declare -A level=([basic]=0 [host]=1 [check]=2 [setup]=2 [node]=3) owner=()
for l in basic host check setup node; do
        [ -f "lib$l.a" ] || fail "lib$l.a is not built"
        while read -r sym; do
                owner[$sym]=$l
        done < <(nm -g --defined-only "lib$l.a" | awk 'NF == 3 && $2 ~ /^[TDBRV]$/ { print $3 }')
done
bad=0
checked=0
for l in basic host check setup node; do
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
echo "layers: $checked references across src/basic, host, check, setup and node, none upward"
