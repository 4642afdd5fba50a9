#!/usr/bin/env bash
# The TUI end to end, driven in tmux like a person: live data, option keys,
# help, quit/Ctrl-C restoring the terminal, LANG=C, NO_COLOR, 80x24, too small.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

. tests/cli/tmux_lib.sh
tmux_setup "TUI end-to-end tests"

# start NAME COLS ROWS [ENV=VALUE ...]: the TUI on the smoke scenario in a detached session
start() {
    local name=$1 cols=$2 rows=$3; shift 3
    tm new-session -d -s "$name" -x "$cols" -y "$rows" \
        "env LANG=C.UTF-8 $* $BIN tui --scenario scenarios/smoke.ini $TUI_ARGS; echo \$? >$TMPD/$name.rc; echo SHELL-BACK; sleep 60"
}
header_step() { cap "$1" | sed -nE 's/.* step ([0-9]+) .*/\1/p' | head -1; }

S=main
start $S 120 40
check "starts and draws the KV map" 'wait_for $S "KV cache paged"'
check "steps run" 'wait_for $S " step [1-9][0-9]* "'
cap $S >"$TMPD/a"; s1=$(header_step $S); sleep 1; cap $S >"$TMPD/b"; s2=$(header_step $S)
check "live: step counter moves ($s1 -> $s2)" '[ "${s2:-0}" -gt "${s1:-0}" ]'
check "live: panels change between captures" '! diff -q <(tail -n +6 "$TMPD/a") <(tail -n +6 "$TMPD/b") >/dev/null'
for t in "KV cache" "batch occupancy" "phase timing" "traffic, MODELED bytes" "requests" "log" "q quit" \
         "quality: weights = reference (no measurement)"; do
    check "shows $t" 'cap $S | grep -qF "$t"'
done

tm send-keys -t $S b
check "b: header batching=static" 'wait_for $S "batching=static"'
check "b: the log says it applied" 'wait_for $S "batching=static applied at step"'
tm send-keys -t $S k
check "k: header kv=contiguous" 'wait_for $S "kv=contiguous"'
check "k: map title switches allocator" 'wait_for $S "KV cache contiguous"'
check "k: contiguous reserves empty space (rsv-empty > 0)" 'wait_for $S "rsv-empty +[0-9]*[1-9][0-9.]*%" 10'
attn_row() { cap $S | grep -oE "attn +[0-9]+% +[0-9.]+[kMG]?B +[0-9.]+[kMG]?B" | head -1; }
check "flash attention moves on-chip bytes" 'wait_for $S "attn +[0-9]+% +[0-9.]+[kMG]?B +[1-9][0-9.]*[kMG]?B"'
flash=$(attn_row)
tm send-keys -t $S a
check "a: header attn=naive" 'wait_for $S "attn=naive"'
check "a: naive attention row: all traffic to main memory (on-chip 0)" 'wait_for $S "attn +[0-9]+% +[0-9.]+[kMG]?B +0B"'
naive=$(attn_row)
check "a: attention traffic row changed ($flash -> $naive)" '[ -n "$naive" ] && [ "$flash" != "$naive" ]'

check "traffic panel: no step graphs on the CPU backend" 'wait_for $S "graphs: n/a \(cpu\)"'
tm send-keys -t $S x
check "x: the range profiler's reason on screen (no GPU here)" \
    'wait_for $S "traffic not measured: no usable CUDA device \(backend cpu"'
check "x: the traffic panel keeps the reason" 'wait_for $S "measured: traffic not measured"'
check "x: the log names the key's outcome" 'wait_for $S "tui: traffic not measured"'

tm send-keys -t $S s
check "s: spec=ngram applies live" 'wait_for $S "spec=ngram applied at step"'
tm send-keys -t $S v v v
check "v v v: the speculative view" 'wait_for $S "speculative decoding"'
check "spec panel: acceptance per position bars" 'wait_for $S "pos  1 +[0-9]+%" 10'
check "spec panel: measured beside predicted speedup" 'wait_for $S "speedup measured [0-9.]+x predicted [0-9.]+x" 10'
tm send-keys -t $S K
check "K: spec_k=8 applies live" 'wait_for $S "spec_k=8 applied at step"'
tm send-keys -t $S A
check "A: admission=watermark applies live" 'wait_for $S "admission=watermark applied at step"'
tm send-keys -t $S v
check "v: the parallel view after the speculative one" 'wait_for $S "one device: set tp or pp"'
tm send-keys -t $S v
check "v: back to the overview" 'wait_for $S "batch occupancy"'

tm send-keys -t $S '?'
check "?: help opens" 'wait_for $S "help: keys"'
cap $S >"$TMPD/help"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do tm send-keys -t $S Down; done   # the keys past the first page
sleep 0.3; cap $S >>"$TMPD/help"
missing=""
while IFS= read -r line; do
    name=$(sed -E 's/^\| `([^`]+)` \| .*/\1/' <<<"$line")
    desc=$(sed -E 's/^\| `[^`]+` \| (.*) \|$/\1/; s/\\\|/|/g' <<<"$line" | cut -c1-30)
    [[ $desc == "replay: "* ]] && continue      # replay-only keys: the replay's help (test_replay.sh)
    grep -qF -- "$(printf '%-7s %s' "$name" "$desc")" "$TMPD/help" || missing="$missing $name"
done < <($BIN keys | tail -n +3)
check "?: help lists every live key of the table${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
tm send-keys -t $S x; sleep 0.3
check "any key closes help" '! wait_for $S "help: keys" 1'
quit_ok $S q

S=ctrlc
start $S 100 30
check "ctrl-c: running" 'wait_for $S "KV cache"'
quit_ok $S C-c

S=ascii
tm new-session -d -s $S -x 120 -y 40 \
    "env LANG=C LC_ALL=C $BIN tui --scenario scenarios/smoke.ini; echo \$? >$TMPD/$S.rc; echo SHELL-BACK; sleep 60"
check "LANG=C: runs" 'wait_for $S "KV cache"'
check "LANG=C: ASCII glyphs only" '! cap $S | LC_ALL=C grep -q "[^[:print:][:space:]]"' 
check "LANG=C: ASCII borders and map cells" 'wait_for $S "^\|[#o.Sc-]{8}"'
quit_ok $S q

S=nocolor
start $S 120 40 NO_COLOR=1
check "NO_COLOR: runs" 'wait_for $S "KV cache"'
check "NO_COLOR: no color escapes" '! tm capture-pane -e -p -t $S | grep -qE $'"'"'\e\\[[0-9;]*(3[0-7]|4[0-7]|38;|48;)[0-9;]*m'"'"
tm new-session -d -s color -x 120 -y 40 "env LANG=C.UTF-8 TERM=xterm-256color $BIN tui --scenario scenarios/smoke.ini"
wait_for color "KV cache" >/dev/null
check "with colors: color escapes present (the check above can fail)" 'tm capture-pane -e -p -t color | grep -qE $'"'"'\e\\[[0-9;]*(3[0-7]|4[0-7]|38;|48;)[0-9;]*m'"'"
tm send-keys -t color q
quit_ok $S q

S=small
TUI_ARGS="--set max_seq=512" start $S 80 24
check "80x24: runs" 'wait_for $S "KV cache"'
for t in "KV cache" "batch occupancy" "phase timing" "traffic" "requests" "q quit" "a:flash" "b:continuous" "k:paged"; do
    check "80x24 shows $t" 'wait_for $S "$t" 3'
done
# the header: identity, status, one row of options (key-bound ones and those off their defaults)
check "80x24: header is 3 rows (panels start on row 4)" 'cap $S | sed -n 4p | grep -q "KV cache"'
check "80x24: header row 3 has the key-bound options" 'cap $S | sed -n 3p | grep -qE "^ b:continuous k:paged a:flash B:16 "'
check "80x24: header shows an option off its default" 'cap $S | sed -n 3p | grep -qF "max_seq=512"'
check "80x24: header leaves out default options bound to no key" '! cap $S | head -3 | grep -qF "top_k="'
tm send-keys -t $S v v v
check "80x24: the speculative view fits" 'wait_for $S "speculative decoding" 3 && wait_for $S "q quit" 1'
tm send-keys -t $S v
tm send-keys -t $S '?'
check "80x24: ? lists every option" 'wait_for $S "top_k=40" 3 && wait_for $S "max_seq=512" 1 && wait_for $S "kv_mem=64M" 1'
tm send-keys -t $S x; sleep 0.3
quit_ok $S q

S=quality
TUI_ARGS="--set wtype=q4_0" start $S 80 24
check "80x24 q4_0: the quality line, measured" 'wait_for $S "quality \(measured, 256 tokens\): KLD [0-9.]+, same top p [0-9.]+%" 10'
check "80x24 q4_0: it is the header's 4th row" 'cap $S | sed -n 4p | grep -q "quality (measured"'
check "80x24 q4_0: panels start on row 5" 'cap $S | sed -n 5p | grep -q "KV cache"'
quit_ok $S q

S=tiny
start $S 60 20
check "60x20: says too small" 'wait_for $S "terminal too small: need 80x24"'
quit_ok $S q
summary
