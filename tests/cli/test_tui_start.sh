#!/usr/bin/env bash
# First run as a new user meets it (issue 11): plain `infertop tui` on
# chat.ini opens the TUI at once and measures capacity inside it (PROBING in
# the header, then RUNNING); SIGTERM and SIGHUP quit like q, with status
# 128 + the signal, the terminal restored.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

. tests/cli/tmux_lib.sh
tmux_setup "TUI first-run tests"

start() {  # NAME ARGS...: infertop in a detached 120x40 session (no ARGS: plain `infertop`, the TUI on chat.ini)
    local name=$1; shift
    tm new-session -d -s "$name" -x 120 -y 40 \
        "env LANG=C.UTF-8 $BIN $*; echo \$? >$TMPD/$name.rc; echo SHELL-BACK; sleep 60"
}
tui_pid() { pgrep -P "$(tm display -p -t "$1" '#{pane_pid}')" | head -1; }

S=first
t0=$(date +%s.%N)
start $S
check "plain infertop (chat.ini): the header shows within 3 s of start" 'wait_for $S "^infertop smollm2" 3'
t1=$(date +%s.%N)
echo "       header after $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"
check "chat.ini: the capacity probe runs inside the TUI" 'wait_for $S "PROBING +probe: measuring capacity" 5'
check "probe progress: no ETA before a request finishes" '! cap $S | grep -q "ETA [0-9]* s.*0/[0-9]* requests done"'
check "the workload starts after the probe" 'wait_for $S " RUNNING " 40'
check "the log gives the measured capacity" 'wait_for $S "probe: capacity [0-9.]+ req/s; chat starts at 0.8x" 5'
kill -TERM "$(tui_pid $S)"
wait_for $S SHELL-BACK 10
check "SIGTERM: exit status 143" '[ "$(cat $TMPD/$S.rc 2>/dev/null)" = 143 ]'
check "SIGTERM: terminal restored" '[ "$(tm display -p -t $S "#{alternate_on}#{cursor_flag}")" = 01 ]'

S=hup
start $S tui --scenario scenarios/smoke.ini
check "smoke: running" 'wait_for $S " RUNNING "'
kill -HUP "$(tui_pid $S)"
wait_for $S SHELL-BACK 10
check "SIGHUP: exit status 129" '[ "$(cat $TMPD/$S.rc 2>/dev/null)" = 129 ]'
check "SIGHUP: terminal restored" '[ "$(tm display -p -t $S "#{alternate_on}#{cursor_flag}")" = 01 ]'

S=term_probe
start $S tui --scenario scenarios/chat.ini
check "probing again" 'wait_for $S "PROBING" 5'
kill -TERM "$(tui_pid $S)"
wait_for $S SHELL-BACK 10
check "SIGTERM during the probe: exit status 143, at once" '[ "$(cat $TMPD/$S.rc 2>/dev/null)" = 143 ]'
summary
