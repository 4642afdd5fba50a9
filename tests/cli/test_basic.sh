#!/usr/bin/env bash
# Command-line behaviour: help, options, models, --set errors, generate.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh

run $BIN;                          expect_rc "no args prints usage" 0; expect_out "usage lists generate" "infertop generate"
run $BIN bogus;                    expect_rc "unknown command" 2; expect_one_line_err "unknown command"
run $BIN options;                  expect_rc "options" 0
for o in threads seed temperature top_k top_p attn max_tokens device; do
    expect_out "options lists $o" "^$o "
done
expect_out "options shows attn values" "naive\|flash"
run $BIN models;                   expect_rc "models" 0
for m in tiny smollm2-135m llama2-7b llama3-8b llama2-70b; do expect_out "models lists $m" "^$m "; done
# seed's KV formula: llama2-7b 2*32*32*128*2 bytes = 512 KiB per token (f16)
expect_out "llama2-7b KV/token 512 KiB" "^llama2-7b .*512\.0 KiB"
# smollm2: 2*30*3*64*2 = 23040 B = 22.5 KiB
expect_out "smollm2 KV/token 22.5 KiB" "^smollm2-135m .*22\.5 KiB"

run $BIN generate --model synth:tiny --set bogus=1;      expect_rc "unknown option" 2; expect_err "names the key" "bogus: unknown option"; expect_one_line_err "unknown option"
run $BIN generate --model synth:tiny --set attn=fast;    expect_rc "bad enum" 2; expect_err "lists values" "attn: expected one of naive\|flash, got 'fast'"
run $BIN generate --model synth:tiny --set threads=-1;   expect_rc "bad int" 2; expect_err "int range" "threads: expected an integer"
run $BIN generate --model synth:tiny --set top_p=2;      expect_rc "float range" 2
run $BIN generate --model synth:tiny --set "temperature"; expect_rc "missing =" 2; expect_err "key=value" "expected key=value"
run $BIN generate --model synth:nope;                    expect_rc "unknown synth model" 2; expect_err "names model" "synth:nope"
run $BIN generate --model synth:tiny -n 0;               expect_rc "bad -n" 2
run $BIN generate --model synth:tiny --bogus;            expect_rc "unknown flag" 2
run $BIN generate --model synth:tiny --device cuda -n 2; expect_rc "cuda without a GPU" 2; expect_err "says why" "no usable CUDA device"

run $BIN generate --model synth:tiny --prompt "hello" -n 8 --set "seed=3 attn=naive"
expect_rc "generate tiny" 0
expect_out "prints 8 ids" "^([0-9]+ ){8}$"
expect_err "names the backend and why" "backend: cpu .* — "
expect_err "prints stats" "prompt tokens 5 .*prefill .*time to first token .*decode 7 tokens"
naive=$(cat "$OUT")
run $BIN generate --model synth:tiny --prompt "hello" -n 8 --set seed=3 --set attn=flash
[ "$(cat "$OUT")" = "$naive" ] && ok "naive and flash give the same greedy tokens" || bad "naive vs flash tokens differ"
run $BIN generate --model synth:tiny --prompt "hello" -n 8 --set "seed=3 temperature=0.9" -q
t1=$(cat "$OUT")
run $BIN generate --model synth:tiny --prompt "hello" -n 8 --set "seed=3 temperature=0.9" -q
[ "$(cat "$OUT")" = "$t1" ] && ok "same seed, same sampled tokens" || bad "sampling not deterministic"
run $BIN generate --model synth:tiny --prompt "hello" -n 8 --set "seed=4 temperature=0.9" -q
[ "$(cat "$OUT")" != "$t1" ] && ok "another seed, other tokens" || bad "seed has no effect"
# Options a command does not use are refused with one line (exit 2), never ignored.
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
run $BIN options
expect_out "options: a live option says so" "^attn +enum .* live +all "
expect_out "options: a rebuild option says so" "^kv +enum .* rebuild +all "
expect_out "options: requests is for scenario runs" "^requests .* rebuild +runs "
expect_out "options: a process option says so" "^device +string .* process +all "
expect_out "options: max_tokens is generate's" "^max_tokens .* generate "
run $BIN bench --scenario scenarios/smoke.ini -q --set max_tokens=8
expect_rc "bench --set max_tokens" 2; expect_one_line_err "bench max_tokens"
expect_err "says why and what to use" "max_tokens: not used by scenario runs .*output.dist=fixed output.value=N"
run $BIN ab --scenario scenarios/smoke.ini -q --a "max_tokens=3" --b "batching=static"
expect_rc "ab --a max_tokens" 2; expect_one_line_err "ab max_tokens"; expect_err "ab names it" "max_tokens: not used"
printf '[scenario]\nname = x\nrequests = 2\n[prompt]\ndist = fixed\nvalue = 8\n[output]\ndist = fixed\nvalue = 4\n[options]\nmax_tokens = 5\n' >"$T/mt.ini"
run $BIN bench --scenario "$T/mt.ini" -q
expect_rc "scenario [options] max_tokens" 2; expect_one_line_err "scenario max_tokens"; expect_err "names file:line" "mt.ini:11: max_tokens: not used"
run $BIN bench --scenario scenarios/smoke.ini -q --scenario-set "output.dist=fixed output.value=5" --json "$T/r.json"
expect_rc "the suggested --scenario-set works" 0
python3 -c "import json; r=json.load(open('$T/r.json')); assert r['output_tokens'] == 8 * 5, r['output_tokens']" 2>/dev/null \
    && ok "every request generated 5 tokens" || bad "output.value=5 not honoured"
for o in requests=3 rate_scale=2 batching=static batch_wait=5; do
    run $BIN generate --model synth:tiny -n 2 --set $o
    expect_rc "generate --set $o" 2; expect_one_line_err "generate $o"; expect_err "generate names ${o%=*}" "^infertop: ${o%=*}: not used by generate"
done
run $BIN replay "$T/none.jsonl" --set attn=naive
expect_rc "replay --set" 2; expect_one_line_err "replay --set"; expect_err "replay says why" "attn: not used by replay \(a recording"
run $BIN options --threads 2
expect_rc "options --threads" 2; expect_one_line_err "options --threads"

run $BIN scenarios;                expect_rc "scenarios" 0
for sc in smoke chat long-context bursty shared-prefix; do expect_out "scenarios lists $sc" "scenarios/$sc.ini"; done
summary
