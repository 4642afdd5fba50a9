#!/usr/bin/env bash
# bench and ab on the smoke scenario: JSON schema, A/B table, bad scenarios.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
J=$(mktemp -d); trap 'rm -rf "$J" "$OUT" "$ERR"' EXIT

run $BIN bench --scenario scenarios/smoke.ini --json "$J/r.json" -q
expect_rc "bench smoke" 0
expect_out "text report has throughput" "^throughput [0-9.]+ req/s"
expect_out "names the percentile method" "linear interpolation"
python3 - "$J/r.json" >"$J/check" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
need = ["scenario", "model", "device", "options", "requests", "duration_s", "throughput", "ttft_ms",
        "tpot_ms", "itl_ms", "e2e_ms", "goodput_req_s", "kv", "batch", "preemptions", "prefill_time_pct"]
missing = [k for k in need if k not in r]
assert not missing, f"missing {missing}"
assert set(["req_s", "output_tok_s", "total_tok_s"]) <= set(r["throughput"])
for k in ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"]:
    d = r[k]
    assert set(["mean", "p50", "p90", "p99", "max"]) <= set(d), k
    assert 0 <= d["p50"] <= d["p90"] <= d["p99"] <= d["max"], (k, d)
assert set(["util_mean_pct", "util_peak_pct", "waste_pct"]) <= set(r["kv"])
assert set(["mean", "max"]) <= set(r["batch"])
assert isinstance(r["options"], dict) and r["options"]["kv"] == "paged"
assert r["requests"] == 8 and r["throughput"]["req_s"] > 0
print("schema ok")
PY
grep -q "schema ok" "$J/check" && ok "bench --json schema" || { bad "bench --json schema"; cat "$J/check"; }

run $BIN bench --scenario scenarios/smoke.ini --set requests=3 --json "$J/r3.json" -q
expect_rc "requests override" 0
python3 -c "import json,sys; sys.exit(0 if json.load(open('$J/r3.json'))['requests']==3 else 1)" \
    && ok "--set requests=3 runs 3 requests" || bad "requests override ignored"

run $BIN ab --scenario scenarios/smoke.ini --a "batching=static max_batch=4" --b "batching=continuous" --json "$J/ab.json" -q
expect_rc "ab" 0
expect_out "ab table has B/A" "B/A"
expect_out "ab lists throughput row" "^throughput +[0-9.]+ +[0-9.]+ +[0-9.]+x"
python3 -c "import json; d=json.load(open('$J/ab.json')); assert d['a']['options']['batching']=='static' and d['b']['options']['batching']=='continuous'" \
    && ok "ab JSON has a and b" || bad "ab JSON"
# token identity (issue 11): each request's output ids and their hash, per request; static and
# continuous batching generate the same greedy tokens
python3 - "$J/ab.json" >"$J/ids" 2>&1 <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
def fnv(ids):
    h = 0xcbf29ce484222325
    for t in ids:
        for b in (t & 0xffffffff).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h
for side in "ab":
    outs = d[side]["outputs"]
    assert len(outs) == d[side]["requests"], (side, len(outs))
    assert sum(o["output_tokens"] for o in outs) == d[side]["output_tokens"]
    for o in outs:
        assert re.fullmatch("[0-9a-f]{16}", o["hash"]) and len(o["tokens"]) == o["output_tokens"], o
        assert fnv(o["tokens"]) == o["hash"], (side, o["id"])
a = {o["id"]: o["tokens"] for o in d["a"]["outputs"]}
b = {o["id"]: o["tokens"] for o in d["b"]["outputs"]}
assert a == b, "static and continuous batching generated different tokens"
print("ids ok")
PY
grep -q "ids ok" "$J/ids" && ok "--json outputs: ids + hash per request, equal across batching" || { bad "--json outputs"; cat "$J/ids"; }

printf '[scenario]\nname = x\nrequests = 2\n[arrival]\nprocess = sometimes\n' >"$J/bad.ini"
run $BIN bench --scenario "$J/bad.ini"
expect_rc "bad scenario" 2; expect_one_line_err "bad scenario"; expect_err "file:line: key" "bad.ini:5: process"
printf '[scenario]\nname = x\nrequests = 2\n[prompt]\ndist = fixed\nvalue = 8\n[output]\ndist = fixed\nvalue = 4\n[options]\nkv = sideways\n' >"$J/badopt.ini"
run $BIN bench --scenario "$J/badopt.ini"
expect_rc "bad option in scenario" 2; expect_err "names file, line and key" "badopt.ini:11: kv: expected one of paged"
run $BIN bench --scenario "$J/none.ini";  expect_rc "missing scenario file" 2
run $BIN ab --scenario scenarios/smoke.ini --a "kv=paged";  expect_rc "ab without --b" 2
run $BIN bench --scenario scenarios/smoke.ini --json /nonexistent/dir/r.json -q
expect_rc "unwritable JSON path: refused before the run" 2
expect_err "names the missing directory" "--json /nonexistent/dir/r.json: cannot write: directory /nonexistent/dir"
[ ! -e /nonexistent/dir/r.json.tmp ] && ok "nothing half-written" || bad "left a temp file"
summary
