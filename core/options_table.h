/* core/options_table.h — THE list of every toggle and knob (X-macro).
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
X(THREADS,     "threads",     OT_INT,   "0",     NULL, 0, 256,          "runtime", 1,
  "CPU worker threads (0 = every online core)")
X(SEED,        "seed",        OT_INT,   "1",     NULL, 0, 4294967295.0, "runtime", 0,
  "seed for synthetic weights, workloads and sampling")
X(WTYPE,       "wtype",       OT_ENUM,  "f32",   "f32|f16|bf16", 0, 0,  "quantization", 0,
  "weight format of synth: models (GGUF files keep their own)")
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
