#!/usr/bin/env bash
# The parallelism panel end to end in tmux: the "parallel" view shows one
# device at first, then a pipeline Gantt (one row per device, micro-batch
# numbers, idle cells) with pp=2, which changes with micro_batches; ASCII
# (LANG=C) still shows the idle glyph.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

. tests/cli/tmux_lib.sh
tmux_setup "TUI parallelism panel tests"

# start NAME COLS ROWS LANG [SET]: the TUI on the smoke scenario, options SET ("k=v k2=v2")
start() {
    local name=$1 cols=$2 rows=$3 lang=$4 set=${5:-}
    tm new-session -d -s "$name" -x "$cols" -y "$rows" \
        "env LANG=$lang $BIN tui --scenario scenarios/smoke.ini --threads 2 ${set:+--set '$set'} $TUI_ARGS; echo \$? >$TMPD/$name.rc; echo SHELL-BACK; sleep 60"
}
gantt() { cap "$1" | grep -E "d[0-9] s[0-9] r[0-9] " | head -4; }

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
gantt $S >"$TMPD/g1"
quit_ok $S q

S=mb2
start $S 120 40 C.UTF-8 'pp=2 micro_batches=2'
tm send-keys -t $S v v v v
check "micro_batches=2: the panel follows" 'wait_for $S "tp=1 pp=2 m=2" 20'
check "micro_batches=2: the formula follows (33.3%)" 'wait_for $S "\(p-1\)/\(m\+p-1\) 33.3%" 20'
check "micro_batches=2: micro-batch 1 shows in the Gantt" 'wait_for $S "d0 s0 r0 .*1" 20'
gantt $S >"$TMPD/g2"
check "the Gantt changed with micro_batches" '[ -s "$TMPD/g1" ] && ! diff -q "$TMPD/g1" "$TMPD/g2" >/dev/null'
quit_ok $S q

S=ascii
start $S 100 30 C 'pp=2 micro_batches=2'
tm send-keys -t $S v v v v
check "LANG=C: the Gantt draws" 'wait_for $S "d1 s1 r0" 20'
check "LANG=C: idle cells are '.'" 'wait_for $S "d1 s1 r0 +\.+" 20'
quit_ok $S q
summary
