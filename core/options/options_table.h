/* core/options/options_table.h — THE list of every toggle and knob (X-macro).
 *
 * X(ID, name, type, default, choices, min, max, technique, class, scope, help)
 *   type      OT_INT | OT_FLOAT | OT_ENUM | OT_BOOL | OT_SIZE | OT_STR
 *   choices   OT_ENUM: a choice list CHOICES_<ID> below; NO_CHOICES otherwise
 *   min, max  numeric range (OT_INT, OT_FLOAT, OT_SIZE)
 *   technique the seed article's section it belongs to ("runtime" when none)
 *   class     what a change mid-run does (the runner acts on it, `keys`, `?`
 *             and `infertop options` print it):
 *             OC_LIVE    applies at the next engine step;
 *             OC_REBUILD restarts the workload with new caches;
 *             OC_PROCESS needs the next start of infertop (device, weights, threads)
 *   scope     commands that use it: OS_RUN (scenario runs: tui, bench, ab),
 *             OS_GEN (generate: one request through the engine, so the KV and
 *             step options apply; arrivals, request counts and the batching
 *             policy have nothing to act on). Setting it for a command outside
 *             its scope is an error (exit 2), never silently ignored.
 * Adding an optimization = one line here + its implementation: it then shows in
 * `infertop options`, the TUI help, every report and trace metadata.
 *
 * Choice lists: C(value, "name") per choice, in the order `infertop options`
 * lists them and a TUI key cycles them. `value` is the C constant a consumer
 * reads with opt_enum(o, ID) (of type OPT_CTYPE_<ID>) or opt_i(): the name and
 * its constant sit on one line, so their order cannot drift apart. Where the
 * enum lives elsewhere (enum attn_impl and enum dtype in kernels/backend.h,
 * enum kv_alloc_kind in core/engine/kvcache.h) the list names its constants;
 * enum opt_batching is generated from its list
 * (options.h). Numeric choices (block) carry their number. */
#ifndef INFERTOP_OPTIONS_CHOICES
#define INFERTOP_OPTIONS_CHOICES

#define NO_CHOICES(C)
#define CHOICES_WTYPE(C)    C(DT_F32, "f32") C(DT_F16, "f16") C(DT_BF16, "bf16") C(DT_Q8_0, "q8_0") \
                            C(DT_Q4_0, "q4_0") C(DT_Q4_1, "q4_1") C(DT_Q4_K, "q4_k") C(DT_Q6_K, "q6_k")
#define OPT_CTYPE_WTYPE     enum dtype
#define CHOICES_ATTN(C)     C(ATTN_NAIVE, "naive") C(ATTN_FLASH, "flash")
#define OPT_CTYPE_ATTN      enum attn_impl
#define CHOICES_KV(C)       C(KV_PAGED, "paged") C(KV_CONTIGUOUS, "contiguous")
#define OPT_CTYPE_KV        enum kv_alloc_kind
#define CHOICES_BLOCK(C)    C(8, "8") C(16, "16") C(32, "32")
#define OPT_CTYPE_BLOCK     int
#define CHOICES_KV_DTYPE(C) C(DT_F32, "f32") C(DT_F16, "f16")
#define OPT_CTYPE_KV_DTYPE  enum dtype
#define CHOICES_BATCHING(C) C(BATCHING_STATIC, "static") C(BATCHING_CONTINUOUS, "continuous")
#define OPT_CTYPE_BATCHING  enum opt_batching
#define CHOICES_ADMISSION(C) C(ADMISSION_RESERVE, "reserve") C(ADMISSION_WATERMARK, "watermark")
#define OPT_CTYPE_ADMISSION  enum opt_admission
#define CHOICES_PP_BALANCE(C) C(PP_BALANCE_LAYERS, "layers") C(PP_BALANCE_TIME, "time")
#define OPT_CTYPE_PP_BALANCE  enum opt_pp_balance
#define CHOICES_SPARSITY(C) C(SPARSITY_OFF, "off") C(SPARSITY_MAGNITUDE, "2:4-magnitude") \
                            C(SPARSITY_WANDA, "2:4-wanda")
#define OPT_CTYPE_SPARSITY  enum opt_sparsity
#define CHOICES_SPEC(C)     C(SPEC_OFF, "off") C(SPEC_DRAFT, "draft") C(SPEC_LAYERSKIP, "layerskip") \
                            C(SPEC_NGRAM, "ngram")
#define OPT_CTYPE_SPEC      enum opt_spec
#define CHOICES_QUANT(C)    C(QUANT_NONE, "none") C(QUANT_INT8, "int8") C(QUANT_INT4, "int4") C(QUANT_FP8, "fp8") \
                            C(QUANT_W4A8, "w4a8") \
                            C(QUANT_W8A8, "w8a8") C(QUANT_W8A8_SMOOTH, "w8a8-smooth") C(QUANT_FP8A8, "fp8a8")
#define OPT_CTYPE_QUANT     enum opt_quant
#define CHOICES_QUANT_GROUP(C) C(32, "32") C(64, "64") C(128, "128")
#define OPT_CTYPE_QUANT_GROUP int
#define CHOICES_QUANT_WEIGHTING(C) C(QUANT_WEIGHTING_NONE, "none") C(QUANT_WEIGHTING_ACT, "act")
#define OPT_CTYPE_QUANT_WEIGHTING enum opt_quant_weighting
#define CHOICES_ACT_SCALE(C) C(ACT_SCALE_TENSOR, "tensor") C(ACT_SCALE_TOKEN, "token")
#define OPT_CTYPE_ACT_SCALE enum opt_act_scale
#define CHOICES_FP8_FORMAT(C) C(DT_E4M3, "e4m3") C(DT_E5M2, "e5m2")
#define OPT_CTYPE_FP8_FORMAT enum dtype

#endif

#ifdef X
X(DEVICE,      "device",      OT_STR,   "auto",  NO_CHOICES, 0, 0,      "runtime", OC_PROCESS, OS_RUN | OS_GEN | OS_TRAIN,
  "compute backend: auto (cuda when a GPU is usable, else cpu), cpu, cpu:LEVEL (SIMD at most scalar|avx2|avx512|amx; avx512 runs the int8 matmuls on VNNI instead of AMX), cuda, or sim:GPU[xN] (SIMULATED: h100, h200, a100, l4, rtx4090, host; see `infertop plan`)")
X(THREADS,     "threads",     OT_INT,   "0",     NO_CHOICES, 0, 256,     "runtime", OC_PROCESS, OS_RUN | OS_GEN | OS_TRAIN,
  "CPU worker threads (0 = every online core)")
X(SEED,        "seed",        OT_INT,   "1",     NO_CHOICES, 0, 4294967295.0, "runtime", OC_PROCESS, OS_RUN | OS_GEN | OS_TRAIN,
  "seed for synthetic weights, workloads and sampling")
X(WTYPE,       "wtype",       OT_ENUM,  "f32",   CHOICES_WTYPE, 0, 0, "quantization", OC_PROCESS, OS_RUN | OS_GEN,
  "weight format of synth: models (GGUF files keep their own); K-quants fall back to q4_1/q8_0 where a matrix's width is not a multiple of 256")
X(ATTN,        "attn",        OT_ENUM,  "flash", CHOICES_ATTN, 0, 0,   "flash-attention", OC_LIVE, OS_RUN | OS_GEN,
  "attention kernel: naive materializes the score matrix; flash tiles with online softmax")
X(TEMPERATURE, "temperature", OT_FLOAT, "0",     NO_CHOICES, 0, 100,     "sampling", OC_LIVE, OS_RUN | OS_GEN,
  "sampling temperature (0 = greedy)")
X(TOP_K,       "top_k",       OT_INT,   "40",    NO_CHOICES, 0, 1000000, "sampling", OC_LIVE, OS_RUN | OS_GEN,
  "keep the k most likely tokens (0 = all)")
X(TOP_P,       "top_p",       OT_FLOAT, "0.95",  NO_CHOICES, 0, 1,       "sampling", OC_LIVE, OS_RUN | OS_GEN,
  "nucleus sampling: smallest set with probability >= p (1 = off)")
X(DEVICE_SAMPLING, "device_sampling", OT_BOOL, "on", NO_CHOICES, 0, 0, "sampling", OC_LIVE, OS_RUN | OS_GEN,
  "the backend's sample hook picks decode tokens where the logits are (only ids come back); off: download the logits, sample on the host")
X(CUDA_GRAPHS, "cuda_graphs", OT_BOOL,  "on",    NO_CHOICES, 0, 0,       "runtime", OC_LIVE, OS_RUN | OS_GEN,
  "CUDA backend: capture a decode step whose batch shape repeats into a CUDA graph and replay it (no effect elsewhere)")
X(MAX_TOKENS,  "max_tokens",  OT_INT,   "64",    NO_CHOICES, 1, 1000000, "runtime", OC_REBUILD, OS_GEN,
  "tokens to generate (generate only: a scenario's [output] sets its requests' lengths)")
X(KV,          "kv",          OT_ENUM,  "paged", CHOICES_KV, 0, 0, "paged-attention", OC_REBUILD, OS_RUN | OS_GEN,
  "KV allocator: paged blocks on demand, or contiguous max_seq reservations per request")
X(BLOCK,       "block",       OT_ENUM,  "16",    CHOICES_BLOCK, 0, 0,    "paged-attention", OC_REBUILD, OS_RUN | OS_GEN,
  "tokens per KV block (paged)")
X(KV_MEM,      "kv_mem",      OT_SIZE,  "64M",   NO_CHOICES, 65536, 1099511627776.0, "kv-cache", OC_REBUILD, OS_RUN | OS_GEN,
  "KV pool budget in bytes (K and V of kv_dtype for every layer)")
X(KV_DTYPE,    "kv_dtype",    OT_ENUM,  "f16",   CHOICES_KV_DTYPE, 0, 0, "kv-cache", OC_REBUILD, OS_RUN | OS_GEN,
  "K/V element type: f16 halves the cache and the bytes decode attention reads")
X(KV_BLOCKS,   "kv_blocks",   OT_INT,   "0",     NO_CHOICES, 0, 16777216, "kv-cache", OC_REBUILD, OS_RUN | OS_GEN,
  "KV pool size in blocks (0 = from kv_mem)")
X(MAX_SEQ,     "max_seq",     OT_INT,   "1024",  NO_CHOICES, 16, 1048576, "kv-cache", OC_REBUILD, OS_RUN | OS_GEN,
  "longest request in tokens; contiguous KV reserves this much per request")
X(PREFIX_CACHE,"prefix_cache",OT_BOOL,  "on",    NO_CHOICES, 0, 0,       "paged-attention", OC_REBUILD, OS_RUN | OS_GEN,
  "share KV blocks of identical prompt prefixes (paged)")
X(BATCHING,    "batching",    OT_ENUM,  "continuous", CHOICES_BATCHING, 0, 0, "batching", OC_LIVE, OS_RUN,
  "static: a batch runs to its last request; continuous: admit and evict every step")
X(MAX_BATCH,   "max_batch",   OT_INT,   "16",    NO_CHOICES, 1, 4096,    "batching", OC_REBUILD, OS_RUN | OS_GEN,
  "most requests running at once")
X(MAX_TOKENS_STEP, "max_tokens_per_step", OT_INT, "512", NO_CHOICES, 1, 1048576, "batching", OC_REBUILD, OS_RUN | OS_GEN,
  "token budget of one engine step (decode tokens + prefill chunks)")
X(CHUNKED_PREFILL, "chunked_prefill", OT_INT, "0", NO_CHOICES, 0, 1048576, "batching", OC_LIVE, OS_RUN | OS_GEN,
  "prefill chunk per request per step in tokens (0 = whole prompts)")
X(ADMISSION,   "admission",   OT_ENUM,  "reserve", CHOICES_ADMISSION, 0, 0, "batching", OC_LIVE, OS_RUN,
  "reserve: admit while the KV every running request reaches at its peak (prompt + max_output, freed at its end) "
  "fits, so none is preempted; watermark: admit while free blocks cover the waiting prompt (vLLM), preempt when short")
X(BATCH_WAIT,  "batch_wait",  OT_FLOAT, "50",    NO_CHOICES, 0, 600000,  "batching", OC_LIVE, OS_RUN,
  "static batching: ms to wait for a full batch before starting a partial one")
X(REQUESTS,    "requests",    OT_INT,   "0",     NO_CHOICES, 0, 1000000, "workload", OC_REBUILD, OS_RUN,
  "override the scenario's request count (0 = as in the file; live: 0 = as the run started)")
X(TP,          "tp",          OT_INT,   "1",     NO_CHOICES, 1, 16,      "parallelism", OC_REBUILD, OS_RUN | OS_GEN,
  "tensor-parallel devices: heads, ffn features and vocab split Megatron-style, 2 all-reduces per layer")
X(PP,          "pp",          OT_INT,   "1",     NO_CHOICES, 1, 16,      "parallelism", OC_REBUILD, OS_RUN | OS_GEN,
  "pipeline stages: layers split over pp devices (tp x pp devices in all; CPU virtual devices split the threads)")
X(MICRO_BATCHES, "micro_batches", OT_INT, "1",   NO_CHOICES, 1, 64,      "parallelism", OC_REBUILD, OS_RUN | OS_GEN,
  "pipeline micro-batches per step (at most one per sequence): bubble (p-1)/(m+p-1)")
X(PP_BALANCE,  "pp_balance",  OT_ENUM,  "layers", CHOICES_PP_BALANCE, 0, 0, "parallelism", OC_REBUILD, OS_RUN | OS_GEN,
  "pipeline stage boundaries: layers = even layer counts; time = the layers' and the head's matmuls timed on a probe (CPU), slowest stage minimized")
X(SP,          "sp",          OT_BOOL,  "off",   NO_CHOICES, 0, 0,       "parallelism", OC_REBUILD, OS_RUN | OS_GEN,
  "sequence parallelism with tp: norms and residual split along the tokens, all-gather/reduce-scatter instead of all-reduce")
X(RATE_SCALE,  "rate_scale",  OT_FLOAT, "1",     NO_CHOICES, 0.01, 100,  "workload", OC_LIVE, OS_RUN,
  "multiply the scenario's arrival rate (live: rescales arrivals still to come)")
X(SPARSITY,    "sparsity",    OT_ENUM,  "off",   CHOICES_SPARSITY, 0, 0, "sparsity", OC_REBUILD, OS_RUN | OS_GEN,
  "2:4 pruning of every linear weight to kept values + 2-bit indices: magnitude keeps the two largest |w| of each 4 inputs, wanda the two largest |w|·‖x‖₂ (calibration)")
X(SPARSITY_HEAD, "sparsity_head", OT_BOOL, "off", NO_CHOICES, 0, 0,   "sparsity", OC_REBUILD, OS_RUN | OS_GEN,
  "also prune the LM head (a tied head gets its own pruned copy; the embedding stays dense)")
X(SPEC,        "spec",        OT_ENUM,  "off",   CHOICES_SPEC, 0, 0,     "speculative", OC_LIVE, OS_RUN | OS_GEN,
  "speculative decoding: draft = a second model (--draft M), layerskip = the target's first spec_layers layers, ngram = prompt lookup (live; spec=draft rebuilds when no draft is loaded)")
X(SPEC_K,      "spec_k",      OT_INT,   "4",     NO_CHOICES, 1, 15,      "speculative", OC_LIVE, OS_RUN | OS_GEN,
  "tokens drafted per step and request (the target verifies spec_k + 1 in one forward)")
X(SPEC_LAYERS, "spec_layers", OT_INT,   "0",     NO_CHOICES, 0, 4096,    "speculative", OC_LIVE, OS_RUN | OS_GEN,
  "layerskip: layers of the target the draft runs before its final norm and head (0 = half)")
X(NGRAM_MIN,   "ngram_min",   OT_INT,   "1",     NO_CHOICES, 1, 16,      "speculative", OC_LIVE, OS_RUN | OS_GEN,
  "ngram: shortest suffix of the context looked up in the request's prompt and output")
X(NGRAM_MAX,   "ngram_max",   OT_INT,   "4",     NO_CHOICES, 1, 16,      "speculative", OC_LIVE, OS_RUN | OS_GEN,
  "ngram: longest suffix looked up (the longest match wins)")
X(SPEC_ADAPTIVE, "spec_adaptive", OT_BOOL, "off", NO_CHOICES, 0, 0,     "speculative", OC_LIVE, OS_RUN | OS_GEN,
  "shrink the draft length after rejections and grow it back after full acceptance (at most spec_k)")
X(TRAIN_BATCH, "train_batch", OT_INT,   "4",     NO_CHOICES, 1, 64,      "distillation", OC_PROCESS, OS_TRAIN,
  "distill: sequences per optimizer step")
X(TRAIN_SEQ,   "train_seq",   OT_INT,   "64",    NO_CHOICES, 2, 4096,    "distillation", OC_PROCESS, OS_TRAIN,
  "distill: tokens per training sequence (prompt + teacher continuation, or a text window)")
X(TRAIN_TOPK,  "train_topk",  OT_INT,   "64",    NO_CHOICES, 0, 16777216, "distillation", OC_PROCESS, OS_TRAIN,
  "distill: teacher tokens kept per position, the rest as one tail mass (0 = the full vocabulary)")
X(TRAIN_TAU,   "train_tau",   OT_FLOAT, "1",     NO_CHOICES, 0.05, 100,  "distillation", OC_PROCESS, OS_TRAIN,
  "distill: temperature of teacher and student distributions (loss scaled by tau^2)")
X(TRAIN_LR,    "train_lr",    OT_FLOAT, "0.001", NO_CHOICES, 0, 10,      "distillation", OC_PROCESS, OS_TRAIN,
  "distill: AdamW peak learning rate (linear warmup, cosine decay to train_min_lr)")
X(TRAIN_MIN_LR,"train_min_lr",OT_FLOAT, "0.0001", NO_CHOICES, 0, 10,     "distillation", OC_PROCESS, OS_TRAIN,
  "distill: learning rate at the end of the cosine decay")
X(TRAIN_WARMUP,"train_warmup",OT_INT,   "20",    NO_CHOICES, 0, 1000000, "distillation", OC_PROCESS, OS_TRAIN,
  "distill: warmup steps")
X(TRAIN_WD,    "train_wd",    OT_FLOAT, "0.01",  NO_CHOICES, 0, 10,      "distillation", OC_PROCESS, OS_TRAIN,
  "distill: AdamW decoupled weight decay (not on norms)")
X(TRAIN_CLIP,  "train_clip",  OT_FLOAT, "1",     NO_CHOICES, 0, 1e6,     "distillation", OC_PROCESS, OS_TRAIN,
  "distill: clip the global gradient norm to this (0 = off)")
X(TRAIN_HELDOUT,"train_heldout",OT_FLOAT,"0.1",  NO_CHOICES, 0.01, 0.9,  "distillation", OC_PROCESS, OS_TRAIN,
  "distill: share of prompts (or text windows) held out for the held-out KL")
X(TRAIN_DATA,  "train_data",  OT_INT,   "0",     NO_CHOICES, 0, 1e9,     "distillation", OC_PROCESS, OS_TRAIN,
  "distill: teacher tokens generated for training (0 = min(--tokens, 32768); more steps run epochs)")
X(TRAIN_SAMPLE_TEMP,"train_sample_temp",OT_FLOAT,"1",NO_CHOICES, 0, 10,  "distillation", OC_PROCESS, OS_TRAIN,
  "distill: temperature the teacher samples its continuations at (0 = greedy)")
X(TRAIN_GREEDY,"train_greedy",OT_BOOL,  "on",    NO_CHOICES, 0, 0,       "distillation", OC_PROCESS, OS_TRAIN,
  "distill: the first continuation of each training prompt is the teacher's greedy one (the path greedy speculative verification follows); repeats sample at train_sample_temp")
X(TRAIN_HELDOUT_TEMP,"train_heldout_temp",OT_FLOAT,"0",NO_CHOICES, 0, 10, "distillation", OC_PROCESS, OS_TRAIN,
  "distill: temperature of the held-out continuations (0 = greedy, one per held-out prompt: held-out top-1 = per-token greedy acceptance)")
X(TRAIN_EMBD,  "train_embd",  OT_BOOL,  "off",   NO_CHOICES, 0, 0,       "distillation", OC_PROCESS, OS_TRAIN,
  "distill: train the embedding/head shared with the teacher (off = frozen)")
X(TRAIN_LAYERS,"train_layers",OT_STR,   "",      NO_CHOICES, 0, 0,       "distillation", OC_PROCESS, OS_TRAIN,
  "distill --init truncate: teacher layers copied, comma separated (empty = first and last, evenly between)")
X(TRAIN_EVAL,  "train_eval",  OT_INT,   "0",     NO_CHOICES, 0, 1000000, "distillation", OC_PROCESS, OS_TRAIN,
  "distill: steps between held-out KL evaluations (0 = ten per run)")
X(TRAIN_CKPT,  "train_ckpt",  OT_INT,   "100",   NO_CHOICES, 0, 1000000, "distillation", OC_PROCESS, OS_TRAIN,
  "distill: steps between checkpoints to OUT.ckpt (0 = only on Ctrl-C)")
X(TRAIN_F16,   "train_f16",   OT_BOOL,  "on",    NO_CHOICES, 0, 0,       "distillation", OC_PROCESS, OS_TRAIN,
  "distill: store the draft's matrices as f16 (off = f32); norms stay f32")
X(SIM_MEM_EFF, "sim_mem_eff", OT_FLOAT, "0.9",   NO_CHOICES, 0.01, 1,    "what-if", OC_PROCESS, OS_RUN | OS_GEN,
  "plan / sim:GPU: achieved fraction of peak memory bandwidth for large transfers (small ones fall to 0.3; the measured host row uses 1 unless set)")
X(SIM_FLOP_EFF,"sim_flop_eff",OT_FLOAT, "0.75",  NO_CHOICES, 0.01, 1,    "what-if", OC_PROCESS, OS_RUN | OS_GEN,
  "plan / sim:GPU: achieved fraction of peak FLOP/s for large ops (small ones fall to 0.1; the measured host row uses 1 unless set)")
X(SIM_OP_US,   "sim_op_us",   OT_FLOAT, "5",     NO_CHOICES, 0, 100000,  "what-if", OC_PROCESS, OS_RUN | OS_GEN,
  "plan / sim:GPU: fixed cost per op in microseconds (kernel launch; the host row measures its own unless set)")
X(QUANT,       "quant",       OT_ENUM,  "none",  CHOICES_QUANT, 0, 0, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "re-quantize the layer matrices from the loaded weights (GGUF blocks dequantized first): int8 per channel, int4 group-wise, fp8 weight-only; w4a8 (int4 g32 sym searched as int4, in q4_0 blocks, int8 activations per 32) / w8a8 / w8a8-smooth (SmoothQuant) / fp8a8 also quantize activations")
X(QUANT_GROUP, "quant_group", OT_ENUM,  "32",    CHOICES_QUANT_GROUP, 0, 0, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "quant=int4: elements per scale group (a matrix whose width it does not divide uses the next smaller group)")
X(QUANT_SYM,   "quant_sym",   OT_BOOL,  "on",    NO_CHOICES, 0, 0, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "quant=int4: symmetric groups (off: a zero point per group)")
X(QUANT_WEIGHTING, "quant_weighting", OT_ENUM, "act", CHOICES_QUANT_WEIGHTING, 0, 0, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "quant=int4|w4a8: the scale search minimises each group's squared error weighted by the calibration text's mean x_j^2 per input channel (act, imatrix/AWQ idea) or unweighted (none)")
X(ACT_SCALE,   "act_scale",   OT_ENUM,  "tensor", CHOICES_ACT_SCALE, 0, 0, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "quant=w8a8*: activation scale per tensor (static, from calibration) or per token (dynamic)")
X(SMOOTH_ALPHA, "smooth_alpha", OT_FLOAT, "0.5", NO_CHOICES, 0, 1, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "quant=w8a8-smooth: SmoothQuant migration strength: s = max|X|^alpha / max|W|^(1-alpha)")
X(FP8_FORMAT,  "fp8_format",  OT_ENUM,  "e4m3",  CHOICES_FP8_FORMAT, 0, 0, "quantization", OC_REBUILD, OS_RUN | OS_GEN,
  "quant=fp8: E4M3 (max 448, finer) or E5M2 (max 57344, wider range)")
#endif
