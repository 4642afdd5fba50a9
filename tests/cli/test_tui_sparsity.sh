#!/usr/bin/env bash
# 2:4 sparsity in the TUI, driven in tmux: with sparsity on, the header names
# the 2:4 format (s24_f16) and the option, and the traffic panel's matmul row
# shows fewer MODELED DRAM bytes per step than the same dense run (kept values
# + 2-bit indices: 9/16 of f16 for the pruned matrices; the embedding-tied
# head and activations stay). max_batch=1 keeps steps alike (one decode token
# each), so the per-step bytes of the two runs compare.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

. tests/cli/tmux_lib.sh
tmux_setup "TUI sparsity tests"

start() {  # NAME SETTINGS: the TUI on the smoke scenario in a detached 120x40 session
    tm new-session -d -s "$1" -x 120 -y 40 \
        "env LANG=C.UTF-8 $BIN tui --scenario scenarios/smoke.ini --set '$2'; echo \$? >$TMPD/$1.rc; echo SHELL-BACK; sleep 60"
}
# matmul DRAM bytes per step on the traffic panel, in bytes
matmul_dram() {
    cap "$1" | grep -oE "matmul +[0-9]+% +[0-9.]+[kMG]?B" | head -1 | awk '{
        v = $3; u = substr(v, length(v) - 1, 1); n = v + 0
        print (u == "k" ? n * 1e3 : u == "M" ? n * 1e6 : u == "G" ? n * 1e9 : n) }'
}

S=dense
start $S "wtype=f16 max_batch=1"
check "dense: running with the traffic panel" 'wait_for $S "traffic, MODELED bytes" && wait_for $S " step [1-9][0-9]* "'
check "dense: header names f16" 'wait_for $S "^infertop tiny .* f16 \|" 5'
sleep 2
dense=$(matmul_dram $S)
quit_ok $S q

S=sparse
start $S "wtype=f16 max_batch=1 sparsity=2:4-magnitude"
check "2:4: running" 'wait_for $S "traffic, MODELED bytes" && wait_for $S " step [1-9][0-9]* "'
check "2:4: header names the 2:4 format" 'wait_for $S "^infertop tiny .* s24_f16 \|" 5'
check "2:4: header shows the option" 'cap $S | grep -q "sparsity=2:4-magnitude"'
sleep 2
sparse=$(matmul_dram $S)
echo "       matmul DRAM/step: dense ${dense:-?} B, 2:4 ${sparse:-?} B"
check "2:4: traffic panel shows fewer matmul bytes per step (< 0.8x dense)" \
    'awk -v d="${dense:-0}" -v s="${sparse:-0}" "BEGIN{exit !(d > 0 && s > 0 && s < 0.8 * d)}"'
quit_ok $S q
summary
