/* kernels/cuda/cuda_graph_policy.h — when a decode step should run eagerly,
 * be captured into a CUDA graph, or update and replay the graph it has, in
 * plain C (unit-tested in tests/unit/test_cuda_math.c without a GPU).
 *
 * Key = the batch shape (sequences, tokens, KV blocks bucketed to a power of
 * two): kernels bake shapes and grid sizes into their launch parameters, so a
 * graph only replays a step of the same key. Policy per step:
 *   new key (or none yet)     → EAGER, and remember it (a shape seen once
 *                               is not worth a capture)
 *   same key, warm-up steps   → EAGER until it repeated `warmup` times
 *   same key, no exec yet     → CAPTURE (instantiate)
 *   same key, exec held       → UPDATE: re-capture, cudaGraphExecUpdate, launch
 *                               (the per-step values — positions, lengths,
 *                               table contents — change every step)
 *   update refused            → caller re-instantiates: counted as a recapture
 *   capture failed            → off for the process, with the reason
 * Counters: eager, captures, recaptures, replays (updates launched).
 *
 * Called per forward step by cuda_graph_step.c (the launch logic), which the
 * CUDA backend's step hooks drive (kernels/cuda/cuda_graph.cu). */
#ifndef INFERTOP_CUDA_GRAPH_POLICY_H
#define INFERTOP_CUDA_GRAPH_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cg_key { int n_seqs, n_tokens, kv_blocks_p2; };

enum cg_action { CG_EAGER, CG_CAPTURE, CG_UPDATE };

struct cg_policy {
    int warmup;                 /* repeats of a key before it is captured */
    bool off;                   /* a capture failed: eager for good */
    bool have_key, have_exec;
    struct cg_key key;
    int repeats;                /* consecutive steps with `key` */
    uint64_t eager, captures, recaptures, replays;
    char reason[128];           /* why off */
};

/* The key of a step: n_seqs sequences, n_tokens tokens, kv_blocks blocks
 * in their tables (rounded up to a power of two). */
struct cg_key cg_key_of(int n_seqs, int n_tokens, int kv_blocks);
void cg_policy_init(struct cg_policy *p, int warmup);
/* What to do for a step with key k. */
enum cg_action cg_decide(struct cg_policy *p, struct cg_key k);
/* The outcome of the action cg_decide returned: ok false on a CAPTURE turns
 * graphs off (reason kept); on an UPDATE it means re-instantiated (recapture). */
void cg_done(struct cg_policy *p, enum cg_action a, bool ok, const char *reason);

#ifdef __cplusplus
}
#endif

#endif
