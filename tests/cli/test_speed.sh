#!/usr/bin/env bash
# `infertop speed`: llama-bench-shaped output (md/csv/json), the JSON schema,
# sweeps (-t, -b, -d, --set lists) on the tiny model, and bad input (exit 2).
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

run $BIN --help;                       expect_out "listed in infertop --help" "infertop speed "
run $BIN speed --help;                 expect_rc "speed --help" 0; expect_out "help names -b" "^  -b  parallel sequences"

# md: llama-bench's columns, one row per test (pp then tg), t/s as mean ± stddev
run $BIN speed -m synth:tiny -p 16 -n 4 -r 2
expect_rc "tiny md run" 0
expect_out "md header" "^\| model +\| +size \| +params \| backend +\| threads \| +test \| +t/s \|$"
expect_out "md pp row" "^\| llama 218K f32 .*\| +pp16 \| +[0-9.]+ ± [0-9.]+ \|$"
expect_out "md tg row" "\| +tg4 \| +[0-9.]+ ± [0-9.]+ \|$"
expect_err "progress on stderr" "speed: synth:tiny tg4, [0-9]+ threads, 1 seq: 2 reps done"
[ "$(grep -c '^|' "$OUT")" -eq 4 ] && ok "md: header, rule, 2 rows" || bad "md row count"

# a sweep: 2 thread counts x 2 kv dtypes x 2 batch sizes x (pp, tg) at a depth
run $BIN speed -m synth:tiny -p 8 -n 3 -d 5 -t 1,2 -b 1,3 -r 2 --set "kv_dtype=f16,f32 attn=naive" -o csv -q
expect_rc "csv sweep" 0
expect_out "csv header: llama-bench field names + swept options" \
    "^cpu_info,backends,model_filename,model_type,model_size,model_n_params,n_threads,n_seq,n_prompt,n_gen,n_depth,test,avg_ns,stddev_ns,avg_ts,stddev_ts,kv_dtype,attn$"
[ "$(wc -l <"$OUT")" -eq 17 ] && ok "csv: 16 tests (2 kv x 2 threads x 2 batch x pp/tg) + header" || bad "csv rows: $(wc -l <"$OUT")"
expect_out "csv depth test name" ",\"pp8 @ d5\","
expect_out "csv batched tg at 2 threads, f32 KV" "^\"[^\"]*\",\"cpu\",\"synth:tiny\",\"llama 218K f32\",[0-9]+,217664,2,3,0,3,5,\"tg3 @ d5\",[0-9]+,[0-9]+,[0-9.]+,[0-9.]+,\"f32\",\"naive\"$"
[ -s "$ERR" ] && bad "-q printed progress" || ok "-q: nothing on stderr"

# json: an array of llama-bench-named objects; every field typed, samples consistent
run $BIN speed -m synth:tiny -p 8 -n 2 -b 1,2 -r 3 -o json -q
expect_rc "json run" 0
if python3 - "$OUT" <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 4, d
S = {"cpu_info": str, "backends": str, "model_filename": str, "model_type": str, "model_size": (int, float),
     "model_n_params": (int, float), "n_threads": int, "n_seq": int, "n_prompt": int, "n_gen": int, "n_depth": int,
     "test": str, "options": dict, "avg_ns": (int, float), "stddev_ns": (int, float), "avg_ts": (int, float),
     "stddev_ts": (int, float), "samples_ns": list, "samples_ts": list}
for r in d:
    assert set(r) == set(S), set(r) ^ set(S)
    for k, t in S.items(): assert isinstance(r[k], t), (k, r[k])
    assert len(r["samples_ns"]) == 3 and len(r["samples_ts"]) == 3
    tok = (r["n_prompt"] or r["n_gen"]) * r["n_seq"]
    for ns, ts in zip(r["samples_ns"], r["samples_ts"]): assert abs(ts - tok * 1e9 / ns) <= 1e-3 * ts, (ns, ts)
    m = sum(r["samples_ts"]) / 3
    assert abs(r["avg_ts"] - m) <= 1e-6 * m + 1e-6
    sd = math.sqrt(sum((x - m) ** 2 for x in r["samples_ts"]) / 2)
    assert abs(r["stddev_ts"] - sd) <= 1e-3 * sd + 1e-3, (r["stddev_ts"], sd)
    assert r["test"] == ("pp%d" % r["n_prompt"] if r["n_prompt"] else "tg%d" % r["n_gen"])
assert [r["n_seq"] for r in d] == [1, 1, 2, 2]
PY
then ok "json schema and statistics"; else bad "json schema"; fi

# the shipped model, if present: a real GGUF row (size and params from the file)
if [ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
    run $BIN speed -m models/SmolLM2-135M-Instruct.Q4_1.gguf -p 32 -n 4 -t 1 -r 1 -q
    expect_rc "real model" 0
    expect_out "real model row" "^\| llama 135M q4_1 +\| +92\.10 MiB \| +134\.52 M \| cpu +\| +1 \| +pp32 \|"
fi

# bad input: one line, exit 2, nothing on stdout
for args in "-x" "-p" "-p 1,a" "-p -3" "-t 0" "-b 1,,2" "-r 0" "-r 2,3" "-o xml" "-p 0 -n 0" \
            "--set attn=fast" "--set bogus=1" "--set threads=2" "--set attn" "-m synth:nope -p 4 -n 0 -r 1" \
            "-m tests/cli/test_speed.sh -p 4 -n 0 -r 1"; do
    # shellcheck disable=SC2086
    run $BIN speed $args
    if [ "$RC" -eq 2 ] && [ "$(wc -l <"$ERR")" -eq 1 ] && [ ! -s "$OUT" ]; then ok "speed $args: exit 2, one line"
    else bad "speed $args: exit $RC, $(wc -l <"$ERR") stderr lines"; fi
done
run $BIN speed -p 1,a;                  expect_err "names the flag and expectation" "^infertop: speed: -p: expected a comma list .*got '1,a'$"
run $BIN speed --set attn=fast;         expect_err "registry error" "attn: expected one of naive\|flash, got 'fast'"
summary
