#!/usr/bin/env bash
# tp / pp / micro_batches / sp from the command line (issue 17): the options
# are listed, bench and ab run them (same tokens as one device), a scenario's
# [options] can set them, the Chrome trace has one track per device, and a
# split the model cannot take is one line and exit 2.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"; rm -f "$OUT" "$ERR"' EXIT
TO="timeout 120"

run $BIN options
for o in tp pp micro_batches sp; do expect_out "options lists $o (technique parallelism)" "^$o .*parallelism"; done

run $TO $BIN bench --scenario scenarios/smoke.ini --threads 2 --set "tp=2 pp=2 micro_batches=2" --trace "$T/t.json" -q
expect_rc "bench tp=2 pp=2 micro_batches=2 with a trace" 0
run python3 -c "
import json, sys
d = json.load(open('$T/t.json'))
names = {e['args']['name'] for e in d['traceEvents'] if e.get('ph') == 'M' and e.get('name') == 'thread_name'}
tids = {e['tid'] for e in d['traceEvents'] if e.get('ph') == 'X'}
comm = [e for e in d['traceEvents'] if e.get('ph') == 'X' and e.get('args', {}).get('class') == 'comm']
print(sorted(names), sorted(tids), len(comm))
sys.exit(0 if {'device 1', 'device 2', 'device 3'} <= names and {1, 11, 12, 13} <= tids and comm else 1)"
expect_rc "trace: one track per device, comm slices on them ($(cat "$OUT"))" 0

run $TO $BIN ab --scenario scenarios/smoke.ini --a "threads=2" --b "threads=2 tp=2 pp=2 micro_batches=2 sp=on" --json "$T/ab.json"
expect_rc "ab: one device vs tp=2 pp=2 sp" 0
run python3 -c "
import json, sys
d = json.load(open('$T/ab.json'))
h = [[o['hash'] for o in d[k]['outputs']] for k in ('a', 'b')]
sys.exit(0 if h[0] and h[0] == h[1] else 1)"
expect_rc "ab: every request's output hash is the same on 4 devices" 0

printf '[scenario]\nname = pp\nmodel = synth:tiny\nseed = 1\nrequests = 3\n[arrival]\nprocess = all\n[prompt]\ndist = fixed\nvalue = 8\n[output]\ndist = fixed\nvalue = 4\n[options]\npp = 4\nmicro_batches = 2\n' >"$T/pp.ini"
run $TO $BIN bench --scenario "$T/pp.ini" --threads 2 --json "$T/pp.json" -q
expect_rc "a scenario's [options] sets pp=4 micro_batches=2" 0
run grep -qE '"pp":[[:space:]]*"4"' "$T/pp.json"
expect_rc "the report's options say pp=4" 0

run $TO $BIN bench --scenario scenarios/smoke.ini --set tp=3 -q
expect_rc "tp=3 on 2 KV heads" 2; expect_one_line_err "tp=3"
expect_err "tp=3: names the heads and what tp fits" "tp=3: tiny has 4 heads in 2 KV groups of 2; expected tp <= 2"
run $TO $BIN bench --scenario scenarios/smoke.ini --set sp=on -q
expect_rc "sp=on without tp" 2; expect_err "sp=on: needs tp >= 2" "expected tp >= 2"
run $TO $BIN generate --model synth:tiny --prompt hi -n 4 --set "pp=8" -q
expect_rc "generate pp=8 on 4 layers" 2; expect_err "pp=8: names the layers" "pp=8: tiny has 4 layers; expected pp <= 4"
summary
