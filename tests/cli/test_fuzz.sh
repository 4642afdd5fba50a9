#!/usr/bin/env bash
# Fuzz targets (make fuzz-build, which make test runs first): each one runs for a
# few seconds from its committed seed corpus and must end cleanly. Keeps the
# targets linking and their seeds crash-free as the sources move.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
T=$(mktemp -d); trap 'rm -rf "$T" "$OUT" "$ERR"' EXIT
SECONDS_EACH=${FUZZ_CHECK_SECONDS:-3}

for spec in gguf:tests/fuzz/corpus_gguf recording:tests/fuzz/corpus_recording scenario:scenarios \
            speed_args:tests/fuzz/corpus_speed_args checkpoint:tests/fuzz/corpus_checkpoint \
            evalref:tests/fuzz/corpus_evalref hw:tests/fuzz/corpus_hw; do
    name=${spec%%:*} corpus=${spec#*:} bin=build-fuzz/fuzz_${name}
    if [ ! -x "$bin" ]; then bad "$bin missing (make fuzz-build; clang comes from make deps)"; continue; fi
    mkdir -p "$T/$name"
    extra=(); [ "$name" = scenario ] && extra=(-dict=tests/fuzz/scenario.dict)
    run "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -max_len=131072 "${extra[@]}" "$T/$name" "$corpus"
    expect_rc "fuzz_$name ran ${SECONDS_EACH}s from $corpus" 0
    runs=$(grep -aoE 'Done [0-9]+ runs' "$ERR" | grep -oE '[0-9]+')
    [ -n "$runs" ] && [ "$runs" -gt 0 ] && ok "fuzz_$name: $runs inputs" || bad "fuzz_$name: no 'Done N runs' line"
done
summary
