#!/usr/bin/env bash
# Replay in the TUI, driven in tmux: a bench recording plays (REPLAY header,
# steps advance, space/n/Right/+ act, the block map comes from the recorded
# snapshots, q restores the terminal); a truncated copy plays to the damage
# and says where; `tui --record` writes a recording that replays and exports.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

. tests/cli/tmux_lib.sh
tmux_setup "replay TUI tests"

# start NAME ARGS...: infertop ARGS in a detached 120x40 session; its exit status goes to $TMPD/NAME.rc
start() {
    local name=$1; shift
    tm new-session -d -s "$name" -x 120 -y 40 \
        "env LANG=C.UTF-8 $BIN $* 2>$TMPD/$name.err; echo \$? >$TMPD/$name.rc; echo SHELL-BACK; sleep 60"
}
pos() { cap "$1" | sed -nE 's/.* step ([0-9]+)\/([0-9]+) .*/\1/p' | head -1; }
total() { cap "$1" | sed -nE 's/.* step ([0-9]+)\/([0-9]+) .*/\2/p' | head -1; }

# a recording a few seconds long: arrivals spread over ~5 s
REC=$TMPD/rec.jsonl
run $BIN bench --scenario scenarios/smoke.ini --scenario-set "arrival.process=poisson arrival.rate=3" \
    --set requests=16 --record "$REC" -q
expect_rc "bench --record" 0
check "the recording has KV block map snapshots" 'grep -q "\"type\":\"kv\"" "$REC"'
run $BIN replay "$REC"
expect_out "replay without a terminal prints the summary" "rec.jsonl: model .* steps over"

S=play
start $S replay "$REC"
check "header shows REPLAY and the file" 'wait_for $S "infertop REPLAY rec.jsonl"'
check "header shows position/total and speed" 'wait_for $S "step [0-9]+/[0-9]+ +x1 "'
p1=$(pos $S); sleep 0.6; p2=$(pos $S)
check "playing: the step advances ($p1 -> $p2)" '[ "${p2:-0}" -gt "${p1:-0}" ]'
tm send-keys -t $S Space
check "space: PAUSED" 'wait_for $S " PAUSED "'
p1=$(pos $S); sleep 0.6; p2=$(pos $S)
check "paused: the step stays ($p1 = $p2)" '[ -n "$p1" ] && [ "$p1" = "$p2" ]'
tm send-keys -t $S n
check "n: exactly one step ($p2 -> $((p2 + 1)))" 'wait_for $S " step $((p2 + 1))/" 3'
n=$(total $S); want=$((p2 + 101 < n ? p2 + 101 : n))
tm send-keys -t $S Right
check "Right: seeks forward 100 steps (to $want)" 'wait_for $S " step $want/" 3'
tm send-keys -t $S +
check "+: speed x2" 'wait_for $S "step [0-9]+/[0-9]+ +x2 " 3'
tm send-keys -t $S -; tm send-keys -t $S -
check "- -: speed x0.5" 'wait_for $S "step [0-9]+/[0-9]+ +x0.5 " 3'
check "footer shows the replay keys" 'cap $S | grep -qE "Right \+100 steps.*\+ faster"'
tm send-keys -t $S Home; sleep 0.3; tm send-keys -t $S Right
check "block map drawn from the snapshots (held cells beside the numbers)" \
    'wait_for $S "^│[^│]*[█▄░◆][^│]* (util|used|allocated|free|rsv-empty|int frag|ext frag|preempt|prefix hit|blocks) " 3'
check "no 'block map not recorded' for a v2 recording" '! cap $S | grep -q "block map not recorded"'
check "requests table rebuilt from events (a running request row)" 'wait_for $S "│. +[0-9]+ (run|wait) +[0-9]+ +[0-9]+/[0-9]+" 3'
tm send-keys -t $S '?'
check "?: help opens" 'wait_for $S "help: keys" 3'
cap $S >"$TMPD/help"
missing=""
while IFS= read -r line; do
    name=$(sed -E 's/^\| `([^`]+)` \| .*/\1/' <<<"$line")
    desc=$(sed -E 's/^\| `[^`]+` \| (.*) \|$/\1/; s/\\\|/|/g' <<<"$line" | cut -c1-30)
    [[ $desc == "live: "* || $desc == cycle* || $desc == rate_scale* ]] && continue   # live-only keys
    grep -qF -- "$(printf '%-7s %s' "$name" "$desc")" "$TMPD/help" || missing="$missing $name"
done < <($BIN keys | tail -n +3)
check "?: help lists every replay key${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
check "?: the replay help has no option keys" '! grep -qE "^│ ?(b|k|a) +(live: )?cycle" "$TMPD/help"'
tm send-keys -t $S x; sleep 0.3
tm send-keys -t $S End
check "End: at the end" 'wait_for $S " END .* step $n/$n " 3'
quit_ok $S q 0

# a truncated copy plays up to the damage and says where
CUT=$TMPD/cut.jsonl
head -c $(($(wc -c <"$REC") / 2)) "$REC" >"$CUT"
run $BIN replay "$CUT"
expect_rc "truncated, no terminal: summary of what came before" 2
expect_err "truncated: F:LINE: what was expected" "cut.jsonl:[0-9]+: "
S=cut
start $S replay "$CUT"
check "truncated: plays" 'wait_for $S "infertop REPLAY cut.jsonl"'
check "truncated: header says where it stopped" 'wait_for $S "stopped at damage: .*cut.jsonl:[0-9]+:"'
check "truncated: the log says it is damaged" 'wait_for $S "damaged recording, plays up to .*cut.jsonl:[0-9]+:"'
tm send-keys -t $S End
check "truncated: End reaches the last good step" 'wait_for $S " END " 3'
quit_ok $S q 2
check "truncated: the damage is on stderr after the TUI" 'grep -qE "cut.jsonl:[0-9]+: .*played the [0-9]+ steps" $TMPD/cut.err'

# tui --record: record the live session, quit, replay and export it
TREC=$TMPD/tui.jsonl
S=rec
start $S tui --scenario scenarios/smoke.ini --record "$TREC"
check "tui --record: header says it records" 'wait_for $S " REC (stopped )?tui.jsonl "'
sleep 2
quit_ok $S q 0
check "tui --record: the recording exists, no temp file left" '[ -s "$TREC" ] && [ ! -e "$TREC.tmp" ]'
run $BIN replay "$TREC"
expect_rc "tui recording: replay summary" 0
expect_out "tui recording: steps and requests" "steps over .* requests finished"
run $BIN replay "$TREC" --export "$TMPD/tui.json"
expect_rc "tui recording: replay --export" 0
run python3 tests/tools/check_trace.py chrome "$TMPD/tui.json"
expect_rc "tui recording: the export is a valid Chrome trace" 0
summary
