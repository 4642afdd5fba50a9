/* core/options/options_table.h — THE list of every toggle and knob (X-macro).
 *
 * X(ID, name, type, default, choices, min, max, technique, live, help)
 *   type      OT_INT | OT_FLOAT | OT_ENUM | OT_BOOL | OT_SIZE | OT_STR
 *   choices   "a|b|c" for OT_ENUM, NULL otherwise
 *   min, max  numeric range (OT_INT, OT_FLOAT, OT_SIZE)
 *   technique the seed article's section it belongs to ("runtime" when none)
 *   live      1: can change mid-run at a step boundary; 0: needs weights/caches rebuilt
 * Adding an optimization = one line here + its implementation: it then shows in
 * `infertop options`, the TUI help, every report and trace metadata. */
X(DEVICE,      "device",      OT_ENUM,  "auto",  "auto|cpu|cuda", 0, 0,   "runtime", 0,
  "compute backend: auto = cuda when a GPU is usable, else cpu")
X(THREADS,     "threads",     OT_INT,   "0",     NULL, 0, 256,          "runtime", 0,
  "CPU worker threads (0 = every online core)")
X(SEED,        "seed",        OT_INT,   "1",     NULL, 0, 4294967295.0, "runtime", 0,
  "seed for synthetic weights, workloads and sampling")
X(WTYPE,       "wtype",       OT_ENUM,  "f32",   "f32|f16|bf16|q8_0|q4_0|q4_1|q4_k|q6_k", 0, 0, "quantization", 0,
  "weight format of synth: models (GGUF files keep their own); K-quants fall back to q4_1/q8_0 where a matrix's width is not a multiple of 256")
X(ATTN,        "attn",        OT_ENUM,  "flash", "naive|flash", 0, 0,   "flash-attention", 1,
  "attention kernel: naive materializes the score matrix; flash tiles with online softmax")
X(TEMPERATURE, "temperature", OT_FLOAT, "0",     NULL, 0, 100,          "sampling", 1,
  "sampling temperature (0 = greedy)")
X(TOP_K,       "top_k",       OT_INT,   "40",    NULL, 0, 1000000,      "sampling", 1,
  "keep the k most likely tokens (0 = all)")
X(TOP_P,       "top_p",       OT_FLOAT, "0.95",  NULL, 0, 1,            "sampling", 1,
  "nucleus sampling: smallest set with probability >= p (1 = off)")
X(MAX_TOKENS,  "max_tokens",  OT_INT,   "64",    NULL, 1, 1000000,      "runtime", 1,
  "tokens to generate per request")
X(KV,          "kv",          OT_ENUM,  "paged", "paged|contiguous", 0, 0, "paged-attention", 0,
  "KV allocator: paged blocks on demand, or contiguous max_seq reservations per request")
X(BLOCK,       "block",       OT_ENUM,  "16",    "8|16|32", 0, 0,       "paged-attention", 0,
  "tokens per KV block (paged)")
X(KV_MEM,      "kv_mem",      OT_SIZE,  "64M",   NULL, 65536, 1099511627776.0, "kv-cache", 0,
  "KV pool budget in bytes (K and V of kv_dtype for every layer)")
X(KV_DTYPE,    "kv_dtype",    OT_ENUM,  "f16",   "f32|f16", 0, 0,       "kv-cache", 0,
  "K/V element type: f16 halves the cache and the bytes decode attention reads")
X(KV_BLOCKS,   "kv_blocks",   OT_INT,   "0",     NULL, 0, 16777216,     "kv-cache", 0,
  "KV pool size in blocks (0 = from kv_mem)")
X(MAX_SEQ,     "max_seq",     OT_INT,   "1024",  NULL, 16, 1048576,     "kv-cache", 0,
  "longest request in tokens; contiguous KV reserves this much per request")
X(PREFIX_CACHE,"prefix_cache",OT_BOOL,  "on",    NULL, 0, 0,            "paged-attention", 0,
  "share KV blocks of identical prompt prefixes (paged)")
X(BATCHING,    "batching",    OT_ENUM,  "continuous", "static|continuous", 0, 0, "batching", 1,
  "static: a batch runs to its last request; continuous: admit and evict every step")
X(MAX_BATCH,   "max_batch",   OT_INT,   "16",    NULL, 1, 4096,         "batching", 0,
  "most requests running at once")
X(MAX_TOKENS_STEP, "max_tokens_per_step", OT_INT, "512", NULL, 1, 1048576, "batching", 0,
  "token budget of one engine step (decode tokens + prefill chunks)")
X(CHUNKED_PREFILL, "chunked_prefill", OT_INT, "0", NULL, 0, 1048576,  "batching", 1,
  "prefill chunk per request per step in tokens (0 = whole prompts)")
X(BATCH_WAIT,  "batch_wait",  OT_FLOAT, "50",    NULL, 0, 600000,       "batching", 1,
  "static batching: ms to wait for a full batch before starting a partial one")
X(REQUESTS,    "requests",    OT_INT,   "0",     NULL, 0, 1000000,      "workload", 0,
  "override the scenario's request count (0 = as in the file)")
X(RATE_SCALE,  "rate_scale",  OT_FLOAT, "1",     NULL, 0.01, 100,       "workload", 1,
  "multiply the scenario's arrival rate (live: rescales arrivals still to come)")
