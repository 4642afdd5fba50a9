/* traces/nvtx.h — NVTX3 ranges for the engine (a leaf: only NVTX3 headers below it).
 *
 * One domain, "infertop"; every range name is a registered string and every
 * range has a named category, a color per phase and a 64-bit payload whose
 * meaning is fixed per range (table in nvtx.c):
 *
 *   schedule  (payload: requests waiting)   every scheduler plan, idle ones too
 *   step      (payload: tokens in the step) forward + sampling of one step
 *     forward (payload: tokens; category prefill, decode or mixed)
 *       layer (payload: layer index)
 *         attention (payload: layer) > prefill | decode (payload: sequences)
 *         mlp       (payload: layer)
 *     sample  (payload: sequences sampled)
 *   draft, verify, comm: reserved for speculative decoding and parallelism.
 *
 * A step that mixes prefill and decode tokens is ONE batched forward pass:
 * its matmuls serve both kinds at once, so no honest time split exists at
 * that level. Such a step's forward range has category "mixed", and markers
 * "prefill tokens" / "decode tokens" carry the two token counts; inside each
 * layer's attention, where work IS per sequence, consecutive sequences of one
 * kind are wrapped in a "prefill" or "decode" range.
 *
 * Built with -DNVTX_DISABLE (make NVTX=0) every call below is an empty inline
 * function: no NVTX code or data is left in the binary. With NVTX compiled in
 * but no tool attached, each call is a near no-op (NVTX's own lazy init). */
#ifndef INFERTOP_TRACES_NVTX_H
#define INFERTOP_TRACES_NVTX_H

#include <stdint.h>

enum nvtx_range {
    NR_SCHEDULE, NR_STEP, NR_FORWARD, NR_LAYER, NR_ATTENTION, NR_MLP, NR_PREFILL, NR_DECODE,
    NR_SAMPLE, NR_DRAFT, NR_VERIFY, NR_COMM, NR_COUNT
};

/* Categories (ids 1..): the phase a range belongs to. Exporters use the same ids. */
enum nvtx_category {
    NC_SCHEDULE = 1, NC_PREFILL, NC_DECODE, NC_LAYER, NC_ATTENTION, NC_MLP, NC_SAMPLE, NC_DRAFT,
    NC_VERIFY, NC_COMM, NC_STEP, NC_MIXED, NC_OP, NC_REQUEST, NC_BUBBLE, NC_COUNT
};

enum nvtx_mark { NM_PREFILL_TOKENS, NM_DECODE_TOKENS, NM_BATCH, NM_COUNT };

/* Name, category name and ARGB color: shared with the exporters so a live
 * NVTX run and an exported trace look the same. */
const char *nvtx_category_name(enum nvtx_category c);
uint32_t    nvtx_category_color(enum nvtx_category c);

#ifdef NVTX_DISABLE
static inline void nvtx_init(void) {}
static inline void nvtx_name_thread(const char *name) { (void)name; }
static inline void nvtx_push(enum nvtx_range r, uint64_t payload) { (void)r; (void)payload; }
static inline void nvtx_push_cat(enum nvtx_range r, enum nvtx_category c, uint64_t payload)
{ (void)r; (void)c; (void)payload; }
static inline void nvtx_pop(void) {}
static inline void nvtx_mark(enum nvtx_mark m, uint64_t payload) { (void)m; (void)payload; }
#else
/* Create the domain, register strings and name categories. Idempotent and
 * thread-safe; the other calls run it on first use. */
void nvtx_init(void);
/* Name the calling OS thread in tools ("engine"). */
void nvtx_name_thread(const char *name);
/* Push range r (its own category) with a payload; pop ends the innermost
 * range of the calling thread. Pushes and pops must pair on one thread. */
void nvtx_push(enum nvtx_range r, uint64_t payload);
/* Same, with a category other than the range's own (forward: prefill/decode/mixed). */
void nvtx_push_cat(enum nvtx_range r, enum nvtx_category c, uint64_t payload);
void nvtx_pop(void);
/* An instant marker with a payload (token counts, batch size). */
void nvtx_mark(enum nvtx_mark m, uint64_t payload);
#endif

#endif
