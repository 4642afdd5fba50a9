#!/usr/bin/env bash
# The parallelism panel end to end in tmux: the "parallel" view shows one
# device at first, then a pipeline Gantt (one row per device, micro-batch
# numbers, idle cells) with pp=2; the keys P, M and T change pp,
# micro_batches and tp live (the group is rebuilt, the panel follows: its row
# count with pp and tp, the micro-batch numbers it draws with micro_batches;
# a split the model cannot take is skipped); a recording replays with the same
# Gantt; ASCII (LANG=C) still shows the idle glyph.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

. tests/cli/tmux_lib.sh
tmux_setup "TUI parallelism panel tests"

# start NAME COLS ROWS LANG [SET]: the TUI on the smoke scenario, options SET ("k=v k2=v2")
start() {
    local name=$1 cols=$2 rows=$3 lang=$4 set=${5:-}
    tm new-session -d -s "$name" -x "$cols" -y "$rows" \
        "env LANG=$lang $BIN tui --scenario scenarios/smoke.ini --threads 2 ${set:+--set '$set'} $TUI_ARGS; echo \$? >$TMPD/$name.rc; echo SHELL-BACK; sleep 60"
}
# What only a pp / micro_batches / tp change alters (the Gantt's cells move every step anyway):
# rows NAME: the Gantt rows on screen (one per device); mbs NAME: the distinct micro-batch
# numbers drawn in them ("0" for m=1, "01" for m=2), the row labels and the border cut off.
rows() { cap "$1" | grep -cE "d[0-9] s[0-9] r[0-9] "; }
mbs() {
    cap "$1" | grep -E "d[0-9] s[0-9] r[0-9] " | sed -E 's/.*d[0-9] s[0-9] r[0-9] //; s/│.*//' |
        grep -o '[0-9a-z]' | sort -u | tr -d '\n'
}
# wait_rows NAME N / wait_mbs NAME SET: poll (20 s) until the screen shows it;
# hold_mbs NAME SET K: K captures 0.2 s apart all show exactly SET
wait_rows() { local i; for ((i = 0; i < 200; i++)); do [ "$(rows "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
wait_mbs() { local i; for ((i = 0; i < 200; i++)); do [ "$(mbs "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1; }
hold_mbs() { local i; for ((i = 0; i < $3; i++)); do [ "$(mbs "$1")" = "$2" ] || return 1; sleep 0.2; done; }

S=par
start $S 120 40 C.UTF-8
check "starts" 'wait_for $S " step [1-9][0-9]* "'
tm send-keys -t $S v v v v
check "v v v v: the parallel view shows the panel" 'wait_for $S "parallelism"'
check "one device: the panel says how to split" 'wait_for $S "one device: set tp or pp"'
quit_ok $S q

S=pp2
start $S 120 40 C.UTF-8 'pp=2'
tm send-keys -t $S v v v v
check "pp=2: the panel shows tp=1 pp=2 m=1" 'wait_for $S "tp=1 pp=2 m=1" 20'
check "pp=2: the header names the device group" 'wait_for $S "on 2 cpu virtual devices"'
check "pp=2: one Gantt row per device" 'wait_for $S "d1 s1 r0" 20'
check "pp=2: bubble beside the formula (50.0% for m=1)" 'wait_for $S "measured vs \(p-1\)/\(m\+p-1\) 50.0%"'
quit_ok $S q

# live: M, P and T rebuild the device group in the running TUI and the panel follows
S=live
start $S 120 40 C.UTF-8
check "live: starts on one device" 'wait_for $S " step [1-9][0-9]* "'
tm send-keys -t $S v v v v
check "live: one device at first" 'wait_for $S "one device: set tp or pp"'
tm send-keys -t $S P
check "P: pp=2 rebuilt live, the panel shows tp=1 pp=2 m=1" 'wait_for $S "tp=1 pp=2 m=1" 20'
check "P: the log says the device group was rebuilt" 'wait_for $S "pp=2 rebuilt the device group in" 20'
check "P: the Gantt has a row for stage 1" 'wait_for $S "d1 s1 r0" 20'
check "P: the header lists pp and micro_batches" 'wait_for $S " pp=2 micro_batches=1" 20'
check "P: the formula 50.0% for m=1" 'wait_for $S "\(p-1\)/\(m\+p-1\) 50.0%" 20'
check "P: exactly 2 Gantt rows (one per stage)" 'wait_rows $S 2'
check "P, m=1: only micro-batch 0 in the Gantt (5 frames)" 'hold_mbs $S 0 5'
tm send-keys -t $S M
check "M: micro_batches=2 live: the panel follows" 'wait_for $S "tp=1 pp=2 m=2" 20'
check "M: the formula follows (33.3%)" 'wait_for $S "\(p-1\)/\(m\+p-1\) 33.3%" 20'
check "M: the Gantt draws micro-batches 0 and 1, and nothing else" 'wait_mbs $S 01'
check "M: still 2 rows (micro_batches splits time, not devices)" '[ "$(rows $S)" = 2 ]'
tm send-keys -t $S T
check "T: tp=2 live: 4 devices, rank 1 rows" 'wait_for $S "tp=2 pp=2 m=2" 20 && wait_for $S "d3 s1 r1" 20'
check "T: exactly 4 Gantt rows" 'wait_rows $S 4'
tm send-keys -t $S T
check "T again: tp=3 does not split tiny's 2 KV groups: skipped to tp=4 (the log says why)" 'wait_for $S "tp=4 pp=2 m=2" 20 && wait_for $S "skipped tp=3: tiny has 4 heads in 2 KV groups" 20'
check "T again: exactly 8 Gantt rows" 'wait_rows $S 8'
tm send-keys -t $S '?'
check "help lists the parallelism keys" 'wait_for $S "cycle pp 1.2.4" && wait_for $S "cycle micro_batches"'
tm send-keys -t $S x
quit_ok $S q

# replay: a recording of pp=2 micro_batches=2 shows the same Gantt per device
run timeout 120 $BIN bench --scenario scenarios/smoke.ini --threads 2 --set "pp=2 micro_batches=2" --record "$TMPD/pp.jsonl" -q
check "bench records pp=2 micro_batches=2" '[ -s "$TMPD/pp.jsonl" ]'
S=rp
tm new-session -d -s $S -x 120 -y 40 "env LANG=C.UTF-8 $BIN replay $TMPD/pp.jsonl; echo \$? >$TMPD/$S.rc; echo SHELL-BACK; sleep 60"
check "replay starts" 'wait_for $S "REPLAY"'
tm send-keys -t $S v v v v
check "replay: the parallel view shows pp=2 m=2" 'wait_for $S "tp=1 pp=2 m=2" 20'
check "replay: one Gantt row per device" 'wait_for $S "d0 s0 r0" 20 && wait_for $S "d1 s1 r0" 20'
check "replay: the measured bubble beside the formula" 'wait_for $S "measured vs \(p-1\)/\(m\+p-1\) 33.3%" 20'
quit_ok $S q

S=ascii
start $S 100 30 C 'pp=2 micro_batches=2'
tm send-keys -t $S v v v v
check "LANG=C: the Gantt draws" 'wait_for $S "d1 s1 r0" 20'
check "LANG=C: idle cells are '.'" 'wait_for $S "d1 s1 r0 +\.+" 20'
quit_ok $S q
summary
