/* core/engine/instance.h — a model instance: what one model needs to run.
 *
 * An instance is a model + its forward pass over a layer range + its own KV
 * pool + the device group it runs on + its role (the target being served, a
 * speculative draft, ...). The engine holds one or more; today one target
 * over every layer on one device. A pipeline stage is an instance over layers
 * [l0, l1) whose KV pool holds only those layers; tensor parallelism gives an
 * instance a device group of several backends and sharded weights
 * (weight_shard, kernels/backend.h). */
#ifndef INFERTOP_INSTANCE_H
#define INFERTOP_INSTANCE_H

#include "core/engine/kvcache.h"
#include "core/model/forward.h"

/* The most backends one device group holds (kernels/registry.h's BACKEND_GROUP_MAX). */
#define DEVICE_GROUP_MAX 16

/* An instance's role is the kernel records' role tag, enum kernel_role
 * (kernels/backend.h: KROLE_TARGET, KROLE_DRAFT; kernel_role_name). */

/* The backends an instance runs on (kernels/registry.c: backend_create_group),
 * dev[k]->device == k. Not owned: whoever created the backends destroys them
 * after the instances that use them. Today the forward runs on dev[0]. */
struct device_group {
    struct backend *dev[DEVICE_GROUP_MAX];
    int n;
};

/* A group of one backend. */
void device_group_one(struct device_group *g, struct backend *be);

struct instance_spec {
    enum kernel_role role;
    int stage;                   /* pipeline stage index, the records' stage tag (0: whole model) */
    struct model *m;
    struct device_group group;
    int l0, l1;                  /* layers [l0, l1); l1 == 0: the whole model */
    int max_tokens;              /* tokens per forward call */
    struct kvcache_config kv;    /* n_layers and kv_dim are filled from the model and range */
};

struct model_instance {
    enum kernel_role role;       /* tags every record of its log, with stage and device */
    int stage;
    struct model *m;             /* not owned */
    struct device_group group;
    int l0, l1;
    struct forward fw;           /* on group.dev[0], layers [l0, l1) */
    struct kvcache *kv;          /* this instance's pool: l1 - l0 layers */
    struct kvcache_snapshot snap;
    struct kernel_log log;       /* records of this instance's ops, on every device of its group,
                                    tagged {role, device 0, stage} (kernel_log_set_instance) */
};

/* 0 ok; -1 with a one-line message (bad range, shape-only model on a backend
 * that is not simulated, KV pool or activations out of memory); *in is then
 * empty (instance_free is a no-op). */
int  instance_init(struct model_instance *in, const struct instance_spec *sp, char *err, size_t errlen);
void instance_free(struct model_instance *in);

/* The backend the forward runs on (group.dev[0]). */
static inline struct backend *instance_backend(const struct model_instance *in)
{
    return in->group.dev[0];
}

/* Point every device's kernel log at this instance's, so the records of the
 * next ops are its own (instances may share a device). */
void instance_bind_log(struct model_instance *in);

/* Run the instance's layers [l0, l1) for one batch: forward_stage with
 * FWD_EMBED when the range starts at layer 0, FWD_HEAD when it ends at the
 * last; hidden is the stage's input/output otherwise (forward.h). Binds the
 * log first, syncs the devices after (async backends fill kernel times then).
 * Returns what forward_stage returns. */
int  instance_forward(struct model_instance *in, const struct fwd_seq *seqs, int n_seqs, float *hidden,
                      float *logits_out);
/* instance_forward with `extra` forward flags added (FWD_LOGITS_STAY). */
int  instance_forward_flags(struct model_instance *in, const struct fwd_seq *seqs, int n_seqs, float *hidden,
                            float *logits_out, unsigned extra);

#endif
