/* core/plan/plan.h — `infertop plan`: what a model needs on a device and how
 * fast it should run there, from the seed's memory formulas and the roofline.
 *
 * Memory (per device; tp·pp devices split weights and KV evenly):
 *   weights     the model's matrices in their formats + f32 norms;
 *   KV/token    2 · layers · kv_heads · head_dim · bytes(kv_dtype) — GQA's kv_heads, never
 *               the hidden size (a known calculator mistake that overstates GQA by n_heads/kv_heads);
 *   KV          batch · ctx · KV/token;
 *   activations the engine's forward buffers for one prefill step of batch·ctx tokens:
 *               tokens · (3·dim + 2·H·d + 2·Hkv·d + 2·ffn + vocab) · 4 bytes.
 * Time: one forward pass per phase — prefill (batch prompts of ctx tokens in
 * one step) and decode (batch sequences at position ctx) — run through the
 * engine's own forward on a simulated device, so every op and its MODELED
 * FLOPs and bytes are the ones kernels/cost.c gives the real engine; each
 * op's time is kernels/roofline.c's. Tensor parallelism (tp) divides the
 * split ops (matmul, attention, rope, swiglu, kv_store) by tp and adds two
 * ring all-reduces per layer, 2(tp−1)/tp · tokens·dim·4 bytes over the link;
 * pipeline stages (pp) run one after another for one batch, plus a hand-off
 * of tokens·dim·4 bytes between stages (no micro-batch overlap is modeled).
 * Everything here is MODELED. */
#ifndef INFERTOP_PLAN_H
#define INFERTOP_PLAN_H

#include "core/model/model.h"
#include "kernels/roofline.h"

#define PLAN_MAX_OPS 48

struct plan_config {
    const struct model *m;      /* shapes are enough (MODEL_SHAPES_ONLY) */
    struct roof_device dev;     /* ONE device of the group */
    int tp, pp;                 /* tp · pp devices */
    int batch, ctx;
    enum dtype kv_type;         /* DT_F16 or DT_F32 */
    enum attn_impl attn;
    double budget;              /* bytes per device; 0 = the device's memory */
};

/* One op of a phase, summed over its repeats (layers, sequences). */
struct plan_op {
    char name[24];
    enum op_class cls;
    int64_t shape[3];           /* matmul {m, n, k}; attention {n_q, n_ctx, heads} */
    int count;
    double flops, bytes;        /* per device, all repeats */
    double t_s, compute_s, memory_s;
    bool memory_bound;
};

struct plan_phase {
    struct plan_op ops[PLAN_MAX_OPS];
    int n_ops;
    int tokens;                 /* tokens the step runs */
    double flops, bytes;        /* per device */
    double t_s;                 /* the step: ops + comm */
    double comm_s;              /* tp all-reduces + pp hand-offs */
    double class_s[OPC_COUNT];
};

struct plan_result {
    double weights, weights_dev;          /* bytes */
    double kv_token;                      /* KV bytes per token (whole model) */
    double kv, kv_dev, act_dev, need_dev, budget;
    bool fits;
    int max_batch;                        /* largest batch whose need fits the budget at ctx (0: none) */
    struct plan_phase prefill, decode;
    double ttft_s, tpot_s, prefill_tok_s, decode_tok_s;
};

/* Bytes of m's weights as stored (each matrix in its format, f32 norms). */
double plan_weight_bytes(const struct model *m);

/* Memory per device for batch b at the config's ctx. */
double plan_need_bytes(const struct plan_config *c, int b, double *kv_dev, double *act_dev);

/* Fill r. 0 ok; -1 with one line in err (bad batch/ctx/tp/pp, out of memory). */
int plan_compute(const struct plan_config *c, struct plan_result *r, char *err, size_t errlen);

#endif
