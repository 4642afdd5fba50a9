#!/usr/bin/env bash
# infertop eval: PPL, KLD against the reference weights, --save-ref/--ref,
# the JSON report, bad input; the shipped texts.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
E="$BIN eval --model synth:tiny --ctx 64 --chunks 3"

run $BIN --help;                      expect_out "help lists eval" "infertop eval --model M"
run $BIN eval --help;                 expect_rc "eval --help" 0; expect_out "eval --help names --save-ref" "--save-ref F"

run $E
expect_rc "eval synth:tiny" 0
expect_out "PPL line" "^PPL +: +[0-9]+\.[0-9]+ ± +[0-9]+\.[0-9]+"
expect_out "3 chunks, 93 scored" "ctx 64, 3 chunks, 93 positions scored"
expect_out "no reference for the reference weights" "reference: none: the weights are the reference's"
expect_err "progress line" "eval: chunk 3/3 \| [0-9]+ tok/s \| ETA"

run $E --set wtype=q4_0 --json "$T/q.json"
expect_rc "eval q4_0 against f32" 0
expect_out "reference named" "reference: wtype=f32, computed in this run"
for l in "Mean PPL\(Q\)/PPL\(base\)" "Mean ln\(PPL\(Q\)/PPL\(base\)\)" "Mean    KLD" "Maximum KLD" "99.0%   KLD" \
         "Median  KLD" "RMS Δp" "Mean    Δp" "Same top p"; do
    expect_out "prints $l" "^$l +:"
done
if python3 - "$T/q.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = j["reference"]
assert j["ctx"] == 64 and j["chunks"] == 3 and j["scored"] == 93, j
assert j["ppl"]["value"] > 1 and j["ppl"]["err"] > 0
assert r["kld"]["value"] > 0 and r["kld"]["max"] >= r["kld"]["p99"] >= r["kld"]["median"] >= 0, r["kld"]
assert 0 < r["same_top_p"]["value"] <= 1 and r["dp_rms"]["value"] > 0
assert r["weights"] == "wtype=f32" and r["source"] == "computed in this run"
PY
then ok "JSON report: kld, same top p, dp, ppl"; else bad "JSON report"; fi
kld_run=$(grep -E "^(Mean    KLD|Same top p|RMS Δp|Mean PPL\(base\))" "$OUT")

run $E --save-ref "$T/ref.bin"
expect_rc "save the reference" 0
expect_err "says where" "reference log-probs saved to $T/ref.bin"
[ "$(stat -c %s "$T/ref.bin")" -eq $((256 + 3 * 31 * 512 * 4)) ] && ok "ref file: header + 3x31x512 f32" || bad "ref file size $(stat -c %s "$T/ref.bin")"
run $E --set wtype=q4_0 --ref "$T/ref.bin"
expect_rc "q4_0 against the saved reference" 0
expect_out "reference from the file" "reference: .*file $T/ref.bin"
[ "$(grep -E "^(Mean    KLD|Same top p|RMS Δp|Mean PPL\(base\))" "$OUT")" = "$kld_run" ] \
    && ok "--ref gives the numbers of the in-run reference" || bad "--ref numbers differ from the in-run reference"
run $E --ref "$T/ref.bin"
expect_out "reference against itself: KLD 0" "^Mean    KLD +: +0\.000000 ± +0\.000000"
expect_out "reference against itself: same top p 100%" "^Same top p +: +100\.000000"

# files that do not fit: one line, exit 2
run $BIN eval -q --model synth:tiny --ctx 32 --chunks 3 --ref "$T/ref.bin"
expect_rc "--ref of another ctx" 2; expect_err "names ctx" "ctx: the file has 64, this run 32"; expect_one_line_err "--ref ctx"
run $BIN eval -q --model synth:tiny-mqa --ctx 64 --chunks 3 --ref "$T/ref.bin"
expect_rc "--ref of another model" 2; expect_err "names model" "model: the file is for 'synth:tiny seed=1'"; expect_one_line_err "--ref model"
run $BIN eval -q --model synth:tiny --set seed=2 --ctx 64 --chunks 3 --ref "$T/ref.bin"
expect_rc "--ref of another seed" 2; expect_one_line_err "--ref seed"
head -c 300 "$T/ref.bin" > "$T/short.bin"
run $BIN eval -q --model synth:tiny --ctx 64 --chunks 3 --ref "$T/short.bin"
expect_rc "truncated --ref" 2; expect_err "names size" "size: 300 bytes; expected"; expect_one_line_err "truncated --ref"
run $BIN eval -q --model synth:tiny --ctx 64 --chunks 3 --ref texts/eval.txt
expect_rc "--ref not a reference" 2; expect_err "names magic" "magic: expected ITEVREF1"
run $BIN eval -q --model synth:tiny --ctx 64 --save-ref "$T/none/ref.bin"
expect_rc "--save-ref into a missing folder" 2; expect_one_line_err "--save-ref folder"
[ ! -e "$T/none" ] && ok "nothing written" || bad "a folder appeared"

# bad input: one line, exit 2
printf 'a\0b' > "$T/nul.txt"; : > "$T/empty.txt"; printf 'short' > "$T/short.txt"
for c in "--ctx 1|expected an integer in \[2" "--ctx 2|expected at least 3" "--ctx 4096|larger than .* context 512" \
         "--text $T/missing.txt|cannot open" "--text $T/empty.txt|empty" "--text $T/nul.txt|byte 1 is NUL" \
         "--text $T/short.txt|5 tokens; --ctx 512 needs at least 512" "--set temperature=1|temperature: not used by eval" \
         "--ref a --save-ref b|expected one of them" "--chunks 0|--chunks: expected an integer"; do
    args=${c%%|*} want=${c#*|}
    run $BIN eval -q --model synth:tiny $args
    expect_rc "eval $args" 2; expect_err "eval $args: says why" "$want"; expect_one_line_err "eval $args"
done

# eval's flags belong to eval (and ab --eval)
run $BIN bench -q --model synth:tiny --eval texts/eval.txt
expect_rc "bench --eval refused" 2; expect_err "says whose flag" "--eval: not used by bench"; expect_one_line_err "bench --eval"
run $BIN generate -q --model synth:tiny --ctx 64
expect_rc "generate --ctx refused" 2; expect_one_line_err "generate --ctx"
run $BIN ab -q --model synth:tiny --a "" --b "" --ctx 64
expect_rc "ab --ctx without --eval refused" 2

# ab --eval: eval metrics of A and B beside the serving report
run $BIN ab --model synth:tiny --scenario scenarios/smoke.ini --a "wtype=f32" --b "wtype=q4_0" \
    --eval texts/eval.txt --ctx 64 --chunks 2 --json "$T/ab.json"
expect_rc "ab --eval" 0
expect_out "serving table still there" "^throughput "
expect_out "eval table header" "^eval on texts/eval.txt: ctx 64, 2 chunks, 62 positions scored"
expect_out "eval PPL row with B/A" "^PPL +[0-9.]+ +[0-9.]+ +[0-9.]+x"
expect_out "A is the reference" "^Mean KLD += ref +[0-9]\.[0-9]+"
expect_out "same top p row" "^Same top p += ref +[0-9.]+ %"
if python3 - "$T/ab.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
e = j["eval"]
assert "a" in j and "b" in j and e["a"]["reference"] is None, e["a"]
assert e["b"]["reference"]["kld"]["value"] > 0 and e["b"]["chunks"] == 2 and e["a"]["ppl"]["value"] > 1
PY
then ok "ab JSON carries eval.a and eval.b"; else bad "ab JSON eval"; fi
run $BIN ab -q --model synth:tiny --scenario scenarios/smoke.ini --a "" --b "" --eval "$T/missing.txt"
expect_rc "ab --eval missing text" 2; expect_one_line_err "ab --eval missing text"

# the quality line in bench reports
run $BIN bench -q --model synth:tiny --scenario scenarios/smoke.ini --set wtype=q4_0 --json "$T/b.json"
expect_rc "bench with q4_0" 0
expect_out "quality line" "^quality \(measured, 256 tokens\): KLD [0-9.]+, same top p [0-9.]+%"
python3 -c "import json; q=json.load(open('$T/b.json'))['quality']; assert q['state']=='measured' and q['kld']>0 and q['mode']=='wtype=q4_0', q" \
    && ok "bench JSON quality" || bad "bench JSON quality"
run $BIN bench -q --model synth:tiny --scenario scenarios/smoke.ini
expect_out "reference weights: no measurement" "^quality: weights = reference \(no measurement\)"

# the shipped texts: verbatim copies of Debian's (texts/README.md)
for p in "eval.txt GPL-2" "calib.txt CC0-1.0"; do
    set -- $p
    if [ -f /usr/share/common-licenses/$2 ]; then
        cmp -s texts/$1 /usr/share/common-licenses/$2 && ok "texts/$1 = common-licenses/$2" || bad "texts/$1 differs from common-licenses/$2"
    fi
done

# the real model, one short chunk (PPL of a trained model on English: far below its vocabulary)
GGUF=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$GGUF" ]; then
    run $BIN eval -q --model $GGUF --ctx 64 --chunks 1 --json "$T/real.json"
    expect_rc "eval SmolLM2, 1 chunk" 0
    python3 -c "import json,sys; p=json.load(open('$T/real.json'))['ppl']['value']; sys.exit(0 if 1 < p < 200 else 1)" \
        && ok "SmolLM2 PPL in (1, 200)" || bad "SmolLM2 PPL out of range: $(cat "$T/real.json" | head -c 300)"
fi
summary
