#!/usr/bin/env bash
# The include layering rules between core/, kernels/, traces/ and tui/ (each rule below says what it forbids), checked on
# every #include of core/, kernels/, traces/ and tui/ (tests/ may include
# anything). Each rule is one check; a broken rule prints the offending
# file:line and the include.
#
# Then every rule checks itself: in a scratch copy of the tree, one bad include
# per rule is added, and the rule must name it — so a rule that can no longer
# fail is itself a failure.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

# traces/ must include no engine internals (only core/telemetry.h and what it
# includes). Enforced since the telemetry seam landed (1 would report its
# violations as PENDING without failing).
TRACES_NO_ENGINE_PENDING=0

SRC_DIRS="core kernels traces tui"
# Angle-bracket includes that are CUDA toolkit / GPU library headers.
CUDA_HDR='^(cuda|cublas|cupti|nccl|cusparse|curand|cufft|nvrtc|nvml|cudnn)[^/]*\.h$|^(cuda|cub|thrust)/'
# ncurses in any spelling: curses.h, ncurses.h, ncursesw/ncurses.h, ...
CURSES_HDR='(^|/)n?cursesw?(\.h$|/)'
# Leaves: include nothing of the project but each other.
LEAVES="kernels/backend.h kernels/formats.h kernels/ops_table.h kernels/tiling.h kernels/hd.h traces/nvtx.h"

# includes ROOT: one line per include: file<TAB>target<TAB>line
includes() {
    (cd "$1" && grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' \
        --include='*.c' --include='*.h' --include='*.cu' --include='*.cuh' $SRC_DIRS 2>/dev/null) |
        sed -E 's/^([^:]+):([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]+)[>"].*/\1\t\3\t\2/'
}

# closure ROOT HEADER: HEADER and every project header it includes, transitively.
closure() {
    local root=$1 todo=$2 seen=" " h
    while [ -n "$todo" ]; do
        set -- $todo; h=$1; shift; todo="$*"
        case "$seen" in *" $h "*) continue ;; esac
        seen="$seen$h "
        [ -f "$root/$h" ] || continue
        todo="$todo $(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' "$root/$h" | tr '\n' ' ')"
    done
    echo "$seen"
}

# violations RULE ROOT: the includes of tree ROOT that break RULE, as
# "file:line includes target".
violations() {
    local rule=$1 root=$2 allowed=""
    [ "$rule" = traces_no_engine ] && allowed=$(closure "$root" core/telemetry.h)
    includes "$root" | awk -F'\t' -v rule="$rule" -v cuda="$CUDA_HDR" -v curses="$CURSES_HDR" \
        -v leaves=" $LEAVES " -v allowed="$allowed" '
    function bad() { printf "%s:%s includes %s\n", $1, $3, $2 }
    rule == "core_no_front_end_or_backend" && $1 ~ /^core\// &&
        ($2 ~ /^tui\// || $2 ~ /^kernels\/(cpu|cuda)\// || $2 ~ curses) { bad() }
    rule == "cpu_cuda_apart" &&
        (($1 ~ /^kernels\/cuda\// && $2 ~ /^kernels\/cpu\//) ||
         ($1 ~ /^kernels\/cpu\// && $2 ~ /^kernels\/cuda\//)) { bad() }
    rule == "cuda_headers_only_in_cuda_and_cupti" && $2 ~ cuda &&
        $1 !~ /^kernels\/cuda\// && $1 !~ /^traces\/cupti(\.[ch]|_range_cupti\.cu)$/ { bad() }
    rule == "kernels_below_core_traces_tui" && $1 ~ /^kernels\// &&
        ($2 ~ /^(core|tui)\// ||
         ($2 ~ /^traces\// && $2 != "traces/nvtx.h" &&
          !($1 ~ /^kernels\/cuda\// && ($2 == "traces/cupti.h" || $2 == "traces/cupti_range.h")))) { bad() }
    rule == "backends_chosen_only_in_registry" && $2 ~ /^kernels\/(cpu|cuda)\// &&
        $1 !~ /^kernels\/(cpu|cuda)\// && $1 != "kernels/registry.c" { bad() }
    rule == "leaves_include_only_leaves" && index(leaves, " " $1 " ") &&
        $2 ~ /\// && !index(leaves, " " $2 " ") { bad() }
    rule == "traces_no_engine" && $1 ~ /^traces\// && $2 ~ /^core\// &&
        !index(allowed, " " $2 " ") { bad() }
    '
}

RULES="core_no_front_end_or_backend cpu_cuda_apart cuda_headers_only_in_cuda_and_cupti
       kernels_below_core_traces_tui backends_chosen_only_in_registry leaves_include_only_leaves
       traces_no_engine"

n_includes=$(includes . | wc -l)
echo "  ($n_includes includes in $SRC_DIRS)"
if [ "$n_includes" -lt 100 ]; then bad "found the includes (only $n_includes)"; fi

# ---- the tree as it is ----
for rule in $RULES; do
    v=$(violations "$rule" .)
    if [ -z "$v" ]; then
        ok "$rule"
    elif [ "$rule" = traces_no_engine ] && [ "$TRACES_NO_ENGINE_PENDING" = 1 ]; then
        echo "  PENDING $rule (known; TRACES_NO_ENGINE_PENDING=1, not counted):"
        sed 's/^/         /' <<<"$v"
    else
        FAIL=$((FAIL + 1))
        echo "  FAIL $rule:"
        sed 's/^/         /' <<<"$v"
    fi
done
if [ "$TRACES_NO_ENGINE_PENDING" = 1 ] && [ -z "$(violations traces_no_engine .)" ]; then
    echo "  note: traces_no_engine holds now; set TRACES_NO_ENGINE_PENDING=0 in $0"
fi

# ---- each rule catches a bad include (scratch copy) ----
SCRATCH=$(mktemp -d)
trap 'rm -f "$OUT" "$ERR"; rm -rf "$SCRATCH"' EXIT
cp -r $SRC_DIRS "$SCRATCH"/

# probe RULE FILE INCLUDE: FILE (new, or appended to) gets INCLUDE; RULE must name FILE.
probe() {
    local rule=$1 file=$2 inc=$3
    cp "$SCRATCH/$file" "$SCRATCH/$file.orig" 2>/dev/null || : >"$SCRATCH/$file.orig"
    printf '#include %s\n' "$inc" >>"$SCRATCH/$file"
    if violations "$rule" "$SCRATCH" | grep -q "^$file:"; then
        ok "$rule catches $file including $inc"
    else
        FAIL=$((FAIL + 1)); echo "  FAIL $rule misses $file including $inc"
    fi
    mv "$SCRATCH/$file.orig" "$SCRATCH/$file"
    [ -s "$SCRATCH/$file" ] || rm -f "$SCRATCH/$file"
}

probe core_no_front_end_or_backend     core/zz_probe.c           '"tui/panel.h"'
probe core_no_front_end_or_backend     core/zz_probe.c           '"kernels/cpu/cpu_backend.h"'
probe core_no_front_end_or_backend     core/zz_probe.h           '<ncursesw/ncurses.h>'
probe cpu_cuda_apart                   kernels/cuda/zz_probe.cu  '"kernels/cpu/quant.h"'
probe cpu_cuda_apart                   kernels/cpu/zz_probe.c    '"kernels/cuda/cuda_internal.h"'
probe cuda_headers_only_in_cuda_and_cupti core/zz_probe.c        '<cuda_runtime.h>'
probe cuda_headers_only_in_cuda_and_cupti kernels/zz_probe.c     '<cublas_v2.h>'
probe cuda_headers_only_in_cuda_and_cupti tui/zz_probe.c         '<nccl.h>'
probe kernels_below_core_traces_tui    kernels/zz_probe.c        '"core/engine/engine.h"'
probe kernels_below_core_traces_tui    kernels/cpu/zz_probe.c    '"traces/recorder.h"'
probe backends_chosen_only_in_registry traces/zz_probe.c         '"kernels/cuda/cuda_backend.h"'
probe leaves_include_only_leaves       kernels/formats.h         '"kernels/cost.h"'
probe traces_no_engine                 traces/zz_probe.c         '"core/engine/scheduler.h"'

summary
