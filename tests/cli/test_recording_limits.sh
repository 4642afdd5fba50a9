#!/usr/bin/env bash
# Recordings are read line by line with bounds (traces/recorder.h): a line over
# 16 MiB, or a file over 4 GiB, is a one-line error naming the file (and line)
# and the limit, exit 2, without reading the rest; replay holds step summaries,
# not kernel records (its memory over the program's baseline stays well under
# the file's size); the streamed export equals the whole-file one.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT

run timeout 60 $BIN replay /dev/zero; expect_rc "replay /dev/zero stops" 2
expect_err "says the line is too long" "/dev/zero:1: line longer than 16 MiB"; expect_one_line_err "/dev/zero"

run $BIN bench --scenario scenarios/smoke.ini -q --record $T/rec.jsonl --trace $T/live.json
expect_rc "a recording" 0
{ head -1 $T/rec.jsonl; python3 -c 'import sys; sys.stdout.write("{\"type\":\"step\",\"pad\":\"" + "x" * (20 << 20) + "\"}\n")'; } > $T/long.jsonl
run timeout 60 $BIN replay $T/long.jsonl; expect_rc "a 20 MB line" 2
expect_err "names file, line, limit" "long.jsonl:2: line longer than 16 MiB"
head -c 100 $T/rec.jsonl > $T/cut1.jsonl   # inside the header line: no newline before the cut
run $BIN replay $T/cut1.jsonl; expect_rc "header cut short" 2; expect_err "truncated" "cut1.jsonl:1: line cut short"

cp $T/rec.jsonl $T/big.jsonl && truncate -s 5G $T/big.jsonl   # sparse: no disk used
run timeout 60 $BIN replay $T/big.jsonl; expect_rc "a 5 GiB file" 2
expect_err "names the size limit" "big.jsonl: 5368709120 bytes: expected a recording of at most 4 GiB"

# streamed export (kernels re-read per step) == the live trace; from a pipe it is read whole, same result
run $BIN replay $T/rec.jsonl --export $T/replay.json; expect_rc "replay --export" 0
cmp -s $T/live.json $T/replay.json && ok "streamed export == live trace" || bad "streamed export differs"
$BIN replay /dev/stdin --export $T/pipe.json < $T/rec.jsonl 2>$ERR; RC=$?; expect_rc "replay --export from a pipe" 0
cmp -s $T/live.json $T/pipe.json && ok "export from a pipe == live trace" || bad "pipe export differs"

# memory: a longer recording; replay's peak RSS over `infertop options` (the program's own baseline)
run $BIN bench --scenario scenarios/smoke.ini -q --set requests=400 --record $T/long_run.jsonl
expect_rc "a longer recording" 0
rss() { python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"; }
base=$(rss $BIN options); size_kb=$(( $(stat -c %s $T/long_run.jsonl) / 1024 ))
steps=$(grep -c '"type":"step"' $T/long_run.jsonl)
for what in summary export; do
    if [ $what = summary ]; then used=$(rss $BIN replay $T/long_run.jsonl); else used=$(rss $BIN replay $T/long_run.jsonl --export $T/l.json); fi
    delta=$((used - base))
    [ "$delta" -lt $((size_kb / 2)) ] && ok "replay $what: +$delta KB over baseline for $steps steps (file $size_kb KB)" \
        || bad "replay $what: +$delta KB over baseline for a $size_kb KB file ($steps steps)"
done
summary
