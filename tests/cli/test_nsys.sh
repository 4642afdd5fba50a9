#!/usr/bin/env bash
# Nsight Systems as an independent client (docs/nsight.md):
#  1. live NVTX: `nsys profile --trace=nvtx` of a headless smoke bench; nvtxsum
#     counts step/forward/sample == steps and layer/attention/mlp == steps x layers;
#  2. NVTXT: the run's recording exported as NVTXT, imported by ImportNvtxt,
#     exported by `nsys export --type json`: every range, same name and duration;
#  3. live NVTXT: `bench --nvtxt` (default TimeBase Manual) imported the same way,
#     checked against the same run's Chrome trace;
#  4. a tp=2 pp=2 recording's NVTXT: every device's ranges and pipeline segments,
#     each Chrome track one named thread of the import (8 for 4 devices).
# Skips (0 failed) when nsys is not installed; CI installs it (tests/deps.sh).
# Install and the Debian package's fixes: docs/nsight.md.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh && . tests/cli/nsys_env.sh
if [ "$HAVE_NSYS" != 1 ]; then echo "SKIP: nsys/ImportNvtxt not installed (make deps as root installs them)"; summary; exit; fi
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
CHECK="python3 tests/tools/check_trace.py"

# more requests than smoke's 8 so the profiled program runs about a second (nsys quirk 3)
if nsys_profile $T/live $BIN bench --scenario scenarios/smoke.ini -q --set requests=48 --json $T/r.json --record $T/rec.jsonl; then
    ok "nsys profile --trace=nvtx of bench"
else
    bad "nsys profile failed: $(tail -3 $T/live.log)"
fi
steps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"])' $T/r.json 2>/dev/null)
layers=$(head -1 $T/rec.jsonl 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"])' 2>/dev/null)
nsys stats --report nvtxsum --format csv -o $T/sum $T/live.nsys-rep >/dev/null 2>&1
sum=$(ls $T/sum*nvtxsum*.csv 2>/dev/null | head -1)
count() { awk -F, -v n="infertop:$1" '$NF == n {print $3}' "$sum"; }   # csv: ...,Instances(3),...,Range
if [ -n "$sum" ] && [ -n "$steps" ]; then
    for r in step forward sample; do
        n=$(count $r); [ "$n" = "$steps" ] && ok "nvtxsum: $r x $n == steps" || bad "nvtxsum: $r x '$n', steps $steps"
    done
    for r in layer attention mlp; do
        n=$(count $r); [ "$n" = "$((steps * layers))" ] && ok "nvtxsum: $r x $n == steps x layers" || bad "nvtxsum: $r x '$n', expected $((steps * layers))"
    done
    n=$(count schedule); [ -n "$n" ] && [ "$n" -ge "$steps" ] && ok "nvtxsum: schedule x $n >= steps" || bad "nvtxsum: schedule x '$n'"
    p=$(count prefill); d=$(count decode); [ -n "$p" ] && [ -n "$d" ] && ok "nvtxsum: prefill ($p) and decode ($d) attention groups" || bad "no prefill/decode ranges"
else
    bad "nvtxsum report missing (steps '$steps')"
fi

# a tp=2 pp=2 device group: every device thread puts a forward range per micro-batch and comm
# ranges (send/recv, all-reduce) on its own thread: forward == steps + devices x micro-batches run
if nsys_profile $T/par $BIN bench --scenario scenarios/smoke.ini -q --threads 2 --set "tp=2 pp=2 micro_batches=2 requests=48" \
        --record $T/par.jsonl; then
    nsys stats --report nvtxsum --format csv -o $T/psum $T/par.nsys-rep >/dev/null 2>&1
    sum=$(ls $T/psum*nvtxsum*.csv 2>/dev/null | head -1)
    want=$(python3 -c '
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if "\"type\":\"step\"" in l]
print(len(steps) + 4 * sum(s["par"]["mb"] for s in steps))' $T/par.jsonl 2>/dev/null)
    n=$(count forward); c=$(count comm)
    [ -n "$want" ] && [ "$n" = "$want" ] && ok "tp=2 pp=2: forward x $n == steps + 4 devices x micro-batches" || bad "tp=2 pp=2: forward x '$n', expected '$want'"
    [ -n "$c" ] && [ "$c" -gt 0 ] && ok "tp=2 pp=2: comm ranges on the device threads ($c)" || bad "tp=2 pp=2: no comm ranges"
else
    bad "nsys profile of tp=2 pp=2 failed: $(tail -3 $T/par.log)"
fi

# every device's ranges and pipeline segments on threads of their own, as in the Chrome trace
# (recorded again without nsys when the profile above failed before the recording was written)
[ -s $T/par.jsonl ] || run $BIN bench --scenario scenarios/smoke.ini -q --threads 2 --set "tp=2 pp=2 micro_batches=2" \
    --record $T/par.jsonl
if [ -s $T/par.jsonl ]; then
    run $BIN replay $T/par.jsonl --export $T/par.nvtxt; expect_rc "tp=2 pp=2: replay --export nvtxt" 0
    run $BIN replay $T/par.jsonl --export $T/par.json;  expect_rc "tp=2 pp=2: replay --export json" 0
    "$NSYS_HOST/ImportNvtxt" --cmd create -n $T/par.nvtxt -o $T/pimp.nsys-rep >$T/pimp.log 2>&1
    nsys export --type json -o $T/pimp.json --force-overwrite true $T/pimp.nsys-rep >/dev/null 2>&1
    if $CHECK nsys-vs-chrome $T/pimp.json $T/par.json >$OUT 2>&1 && grep -q " 8 threads = tracks" $OUT; then
        ok "tp=2 pp=2 NVTXT: every device's track imported: $(cat $OUT)"
    else
        bad "tp=2 pp=2 NVTXT: $(cat $OUT)"
    fi
    for d in "device 3" "device 3 pipeline (stage 1, rank 1)"; do
        grep -qF "\"Name\":\"$d\"" $T/pimp.json && ok "tp=2 pp=2 NVTXT: thread '$d' named" || bad "no thread '$d' in the import"
    done
else
    bad "tp=2 pp=2: no recording to export"
fi

run $BIN replay $T/rec.jsonl --export $T/rec.nvtxt;  expect_rc "replay --export nvtxt" 0
run $BIN replay $T/rec.jsonl --export $T/rec.json;   expect_rc "replay --export json" 0
"$NSYS_HOST/ImportNvtxt" --cmd create -n $T/rec.nvtxt -o $T/imp.nsys-rep >$T/imp.log 2>&1
grep -q "events imported" $T/imp.log && ok "ImportNvtxt --cmd create" || bad "ImportNvtxt: $(tail -2 $T/imp.log)"
nsys export --type json -o $T/imp.json --force-overwrite true $T/imp.nsys-rep >/dev/null 2>&1
if $CHECK nsys-vs-chrome $T/imp.json $T/rec.json >$OUT 2>&1; then ok "imported NVTXT: $(cat $OUT)"; else bad "$(cat $OUT)"; fi
markers=$(grep -c '^Marker, ' $T/rec.nvtxt); got=$(grep -c '"Type":65' $T/imp.json)
[ "$markers" = "$got" ] && ok "every request marker imported ($got)" || bad "markers: $got of $markers imported"

run $BIN bench --scenario scenarios/smoke.ini -q --nvtxt $T/live.nvtxt --trace $T/live.json
expect_rc "bench --nvtxt --trace" 0
"$NSYS_HOST/ImportNvtxt" --cmd create -n $T/live.nvtxt -o $T/limp.nsys-rep >$T/limp.log 2>&1
grep -q "events imported" $T/limp.log && ok "live NVTXT: ImportNvtxt --cmd create" || bad "ImportNvtxt of the live NVTXT: $(tail -2 $T/limp.log)"
nsys export --type json -o $T/limp.json --force-overwrite true $T/limp.nsys-rep >/dev/null 2>&1
if $CHECK nsys-vs-chrome $T/limp.json $T/live.json >$OUT 2>&1; then ok "imported live NVTXT vs the run's Chrome trace: $(cat $OUT)"; else bad "$(cat $OUT)"; fi
markers=$(grep -c '^Marker, ' $T/live.nvtxt); got=$(grep -c '"Type":65' $T/limp.json)
[ "$markers" = "$got" ] && ok "live NVTXT: every marker imported ($got)" || bad "live markers: $got of $markers imported"
summary
