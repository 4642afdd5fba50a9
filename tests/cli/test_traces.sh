#!/usr/bin/env bash
# Traces: bench --trace/--nvtxt/--record, the Chrome trace's format rules,
# recording -> replay -> export == the live export, damaged recordings.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
CHECK="python3 tests/tools/check_trace.py"

run $BIN bench --scenario scenarios/smoke.ini -q --json $T/r.json --trace $T/live.json --nvtxt $T/live.nvtxt --record $T/rec.jsonl
expect_rc "bench with --trace --nvtxt --record" 0
[ -s $T/live.json ] && [ -s $T/live.nvtxt ] && [ -s $T/rec.jsonl ] && ok "three files written" || bad "files missing"
[ -z "$(ls $T/*.tmp 2>/dev/null)" ] && ok "no temp files left" || bad "temp files left: $(ls $T/*.tmp)"
steps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"])' $T/r.json)
layers=$(head -1 $T/rec.jsonl | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"])')

if $CHECK chrome $T/live.json >$OUT 2>&1; then ok "Chrome trace keeps the format's rules ($(cat $OUT))"; else bad "Chrome trace rules: $(cat $OUT)"; fi
n=$($CHECK count $T/live.json step);  [ "$n" = "$steps" ] && ok "one step slice per step ($n)" || bad "step slices $n, steps $steps"
n=$($CHECK count $T/live.json layer); [ "$n" = "$((steps * layers))" ] && ok "steps x layers layer slices ($n)" || bad "layer slices $n, expected $((steps * layers))"
grep -q '"ph":"b".*"name":"request 0"\|"name":"request 0".*"ph":"b"' $T/live.json && ok "async request track" || bad "no async request track"
grep -q '"KV utilization %"' $T/live.json && grep -q '"otherData":{"model"' $T/live.json && ok "counters and run metadata" || bad "counters/metadata missing"
grep -q '^TimeBase = Manual' $T/live.nvtxt && ! grep -q ClockMonotonicRaw $T/live.nvtxt && ok "live NVTXT on TimeBase Manual (the default)" || bad "live NVTXT timebase"
run $BIN bench --scenario scenarios/smoke.ini -q --nvtxt $T/raw.nvtxt --nvtxt-clock raw
expect_rc "bench --nvtxt-clock raw" 0
grep -q '^TimeBase = ClockMonotonicRaw' $T/raw.nvtxt && ! grep -q 'TimeBase = Manual' $T/raw.nvtxt && ok "--nvtxt-clock raw: ClockMonotonicRaw" || bad "raw NVTXT timebase"
run $BIN bench --scenario scenarios/smoke.ini -q --nvtxt $T/x.nvtxt --nvtxt-clock wall
expect_rc "--nvtxt-clock wall" 2; expect_err "names the choices" "expected manual .* or raw"

run $BIN replay $T/rec.jsonl
expect_rc "replay summary" 0
expect_out "summary names steps and requests" "$steps steps .* 8/8 requests finished"
[ "$(wc -l <$OUT)" -eq 1 ] && ok "summary is one line" || bad "summary lines: $(wc -l <$OUT)"

run $BIN replay $T/rec.jsonl --export $T/replay.json
expect_rc "replay --export json" 0
cmp -s $T/live.json $T/replay.json && ok "replayed Chrome trace == live Chrome trace" || bad "replayed Chrome trace differs"
run $BIN replay $T/rec.jsonl --export $T/replay.nvtxt
expect_rc "replay --export nvtxt" 0
grep -q '^TimeBase = Manual' $T/replay.nvtxt && ok "replayed NVTXT on TimeBase Manual" || bad "replay NVTXT timebase"
ranges() { awk -F', ' '/^RangeStartEnd, [0-9]/ {print $3 - $2, $4, $5, $7}' "$1"; }
if diff <(ranges $T/live.nvtxt) <(ranges $T/replay.nvtxt) >/dev/null; then ok "replayed NVTXT ranges == live (names, durations, thread, category)"
else bad "NVTXT ranges differ"; fi
[ "$(ranges $T/live.nvtxt | wc -l)" -eq "$(grep -c '"ph":"X"' $T/live.json)" ] && ok "NVTXT has every Chrome slice" || bad "NVTXT/Chrome range counts differ"

# damaged recordings: partial export + file:line message + exit 2, or a one-line exit-2 error
lines=$(wc -l <$T/rec.jsonl)
head -n $((lines / 2)) $T/rec.jsonl > $T/cut.jsonl
head -c 100 <(tail -n +$((lines / 2 + 1)) $T/rec.jsonl) >> $T/cut.jsonl
run $BIN replay $T/cut.jsonl --export $T/cut.json
expect_rc "truncated recording" 2
expect_err "says where it stopped" "cut.jsonl:$((lines / 2 + 1)): .*; exported the [0-9]+ steps"
expect_one_line_err "truncated recording"
if $CHECK chrome $T/cut.json >/dev/null 2>&1; then ok "partial export is a valid trace"; else bad "partial export invalid"; fi
head -n $((lines - 1)) $T/rec.jsonl > $T/noend.jsonl
run $BIN replay $T/noend.jsonl;    expect_rc "missing end line" 2; expect_err "truncated at the end" "noend.jsonl:$lines: expected the end line after $steps steps"
sed '3s/"t_ns":/"t_ns":"x",/' $T/rec.jsonl > $T/bad.jsonl
run $BIN replay $T/bad.jsonl;      expect_rc "bad field" 2
sed '1s/"version":[0-9]*/"version":9/' $T/rec.jsonl > $T/v9.jsonl
run $BIN replay $T/v9.jsonl --export $T/v9.json; expect_rc "unknown version" 2; expect_err "names field" "v9.jsonl:1: version: expected an integer in \[1, [0-9]+\]"
expect_one_line_err "unknown version"
[ ! -e $T/v9.json ] && ok "nothing written for an unusable recording" || bad "wrote an export for a bad header"
printf 'garbage\n' > $T/g.jsonl
run $BIN replay $T/g.jsonl;        expect_rc "not JSON" 2; expect_one_line_err "not JSON"
run $BIN replay $T/missing.jsonl;  expect_rc "missing file" 2; expect_err "cannot open" "missing.jsonl: cannot open"
run $BIN replay $T/rec.jsonl --export $T/x.txt; expect_rc "bad export name" 2; expect_err "expects .json or .nvtxt" "expected a file name ending in .json"
run $BIN replay;                   expect_rc "no file" 2

# invalid UTF-8 in a scenario name reaches no output as such: every file parses (U+FFFD instead)
sed 's/^name *=.*/name = bad\xff\xc0\xafname/' scenarios/smoke.ini > $T/u.ini
run $BIN bench --scenario $T/u.ini -q --json $T/u.json --trace $T/ut.json --record $T/u.jsonl --nvtxt $T/u.nvtxt
expect_rc "bench with a non-UTF-8 scenario name" 0
utf8_json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1], encoding="utf-8")); sys.exit(0 if "\ufffd" in json.dumps(d, ensure_ascii=False) else 1)' "$1"; }
utf8_json $T/u.json && ok "--json parses, name has U+FFFD" || bad "--json with a bad name"
utf8_json $T/ut.json && ok "--trace parses, name has U+FFFD" || bad "--trace with a bad name"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' $T/u.jsonl && ok "--record: every line parses" || bad "--record with a bad name"
python3 -c 'import sys; open(sys.argv[1], encoding="utf-8").read()' $T/u.nvtxt && grep -q $'\xef\xbf\xbd' $T/u.nvtxt && ok "--nvtxt is UTF-8 (U+FFFD)" || bad "--nvtxt with a bad name"
# a recording whose header carries invalid UTF-8 or an option the registry refuses: exit 2, file:line: field
python3 - $T/rec.jsonl $T/badutf.jsonl <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
lines[0] = lines[0].replace(b'"name":"smoke"', b'"name":"sm\xffoke"', 1)
open(sys.argv[2], "wb").write(b"\n".join(lines))
PY
run $BIN replay $T/badutf.jsonl --export $T/badutf.json; expect_rc "header with invalid UTF-8" 2
expect_err "names the field" "badutf.jsonl:1: name: expected UTF-8 text"; expect_one_line_err "header with invalid UTF-8"
sed '1s/"kv":"paged"/"kv":"bogus"/' $T/rec.jsonl > $T/bogus.jsonl
run $BIN replay $T/bogus.jsonl; expect_rc "header option kv: bogus" 2
expect_err "checked by the options registry" "bogus.jsonl:1: options.kv: expected .*paged.*got 'bogus'"; expect_one_line_err "header option kv: bogus"
sed '1s/"kv":"paged"/"kv":"paged","nosuch":"1"/' $T/rec.jsonl > $T/nosuch.jsonl
run $BIN replay $T/nosuch.jsonl; expect_rc "unknown header option" 2; expect_err "says unknown" "nosuch.jsonl:1: options.nosuch: unknown option"
summary
