#!/usr/bin/env bash
# Output files (traces/outfile.h): --json/--record/--trace/--nvtxt and replay
# --export write a regular file atomically (temp + rename), but never replace
# a FIFO, character device or symlink with a regular file; a full device fails
# with exit 1 and its reason; an unwritable path fails with exit 2 before the run.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
B=(bench --scenario scenarios/smoke.ini -q --set requests=2)
ftype() { stat -c %F "$1"; }

# devices of our own in the temp folder (never the system's /dev/full); without
# root, /dev/null and /dev/full themselves, which a non-root process cannot replace
if mknod $T/null c 1 3 2>/dev/null && mknod $T/full c 1 7 2>/dev/null; then NULLDEV=$T/null FULLDEV=$T/full
elif [ "$(id -u)" -ne 0 ]; then NULLDEV=/dev/null FULLDEV=/dev/full
else bad "mknod failed as root"; summary; exit; fi

run $BIN "${B[@]}" --record $T/rec.jsonl; expect_rc "a recording to replay" 0

# regular file: replaced whole, no temp file left
echo old > $T/r.json
run $BIN "${B[@]}" --json $T/r.json; expect_rc "--json over a regular file" 0
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' $T/r.json && ok "regular file replaced by the report" || bad "report not valid JSON"
[ -z "$(ls $T | grep '\.tmp$')" ] && ok "no temp file left" || bad "temp files: $(ls $T | grep tmp)"

# FIFO: written into, still a FIFO
mkfifo $T/fifo
timeout 60 cat $T/fifo > $T/fifo.out & reader=$!
run timeout 60 $BIN "${B[@]}" --json $T/fifo; expect_rc "--json into a FIFO" 0
wait $reader
[ "$(ftype $T/fifo)" = "fifo" ] && ok "FIFO is still a FIFO" || bad "FIFO became: $(ftype $T/fifo)"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' $T/fifo.out && ok "the FIFO's reader got the report" || bad "reader got: $(head -c 80 $T/fifo.out)"

# symlink: followed, the link stays a link and its target gets the content
echo old > $T/target.json; ln -s $T/target.json $T/link.json
run $BIN "${B[@]}" --trace $T/link.json; expect_rc "--trace through a symlink" 0
[ -L $T/link.json ] && ok "symlink is still a symlink" || bad "symlink replaced: $(ftype $T/link.json)"
python3 tests/tools/check_trace.py chrome $T/target.json >/dev/null 2>&1 && ok "symlink's target holds the trace" || bad "target not a trace"
ln -s $T/nowhere/x $T/dangling
run $BIN "${B[@]}" --json $T/dangling; expect_rc "symlink to nothing" 2; expect_err "says so" "dangling: cannot write: a symlink to a file that does not exist"

# character devices: written directly, never replaced
for flag in --json --trace --nvtxt --record; do
    run $BIN "${B[@]}" $flag $NULLDEV; expect_rc "$flag to a null device" 0
done
[ "$(ftype $NULLDEV)" = "character special file" ] && ok "null device is still a device" || bad "null device became: $(ftype $NULLDEV)"
for flag in --json --trace --nvtxt --record; do
    run $BIN "${B[@]}" $flag $FULLDEV; expect_rc "$flag to a full device fails" 1
    expect_err "$flag: says why" "full: write failed: No space left on device"
done
ln -s $FULLDEV $T/full.nvtxt
run $BIN replay $T/rec.jsonl --export $T/full.nvtxt; expect_rc "replay --export to a full device (via a link)" 1
expect_err "export: says why" "full.nvtxt: write failed: No space left on device"
[ "$(ftype $FULLDEV)" = "character special file" ] && ok "full device is still a device" || bad "full device became: $(ftype $FULLDEV)"
[ -z "$(ls $T | grep '\.tmp$')" ] && ok "no temp files after the failures" || bad "temp files: $(ls $T | grep tmp)"

# unwritable paths fail before the run (no report printed), exit 2, one line
run $BIN "${B[@]}" --json $T/no/such/dir/r.json; expect_rc "missing directory" 2
expect_err "names the directory" "no/such/dir: No such file or directory"; expect_one_line_err "missing directory"
[ ! -s $OUT ] && ok "refused before the run (no report)" || bad "ran before refusing"
run $BIN "${B[@]}" --record $T; expect_rc "a directory as output" 2; expect_err "is a directory" "is a directory"
run $BIN replay $T/rec.jsonl --export $T/no/x.json; expect_rc "replay --export to a missing directory" 2
summary
