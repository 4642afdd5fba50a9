/* core/engine/instance.c — see instance.h. */
#include "core/engine/instance.h"

#include <stdio.h>
#include <string.h>

#define INSTANCE_LOG_CAP 1024   /* records per step before the log stops recording */

void device_group_one(struct device_group *g, struct backend *be)
{
    memset(g, 0, sizeof *g);
    g->dev[0] = be;
    g->n = 1;
}

static int check_spec(const struct instance_spec *sp, int l0, int l1, char *err, size_t errlen)
{
    int L = sp->m->cfg.n_layers;
    if (sp->group.n < 1 || sp->group.n > DEVICE_GROUP_MAX || !sp->group.dev[0]) {
        snprintf(err, errlen, "instance: device group of %d; expected 1..%d backends", sp->group.n,
                 DEVICE_GROUP_MAX);
        return -1;
    }
    if (l0 < 0 || l1 <= l0 || l1 > L) {
        snprintf(err, errlen, "instance: layers [%d, %d); expected 0 <= l0 < l1 <= %d", l0, l1, L);
        return -1;
    }
    if ((int)sp->role < 0 || sp->role >= KROLE_COUNT || sp->stage < 0) {
        snprintf(err, errlen, "instance: role %d, stage %d; expected role 0..%d, stage >= 0", (int)sp->role,
                 sp->stage, KROLE_COUNT - 1);
        return -1;
    }
    return 0;
}

int instance_init(struct model_instance *in, const struct instance_spec *sp, char *err, size_t errlen)
{
    memset(in, 0, sizeof *in);
    int l0 = sp->l0, l1 = sp->l1 ? sp->l1 : sp->m->cfg.n_layers;
    if (check_spec(sp, l0, l1, err, errlen) < 0) return -1;
    in->role = sp->role;
    in->stage = sp->stage;
    in->m = sp->m;
    in->group = sp->group;
    in->l0 = l0;
    in->l1 = l1;
    const struct model_config *c = &sp->m->cfg;
    struct kvcache_config kc = sp->kv;
    kc.n_layers = l1 - l0;
    kc.kv_dim = c->n_kv_heads * c->head_dim;
    struct backend *be = instance_backend(in);
    /* the forward first: it refuses a shape-only model before any pool is sized */
    if (forward_init_range(&in->fw, sp->m, be, l0, l1, sp->max_tokens, err, errlen) < 0 ||
        kvcache_create(&in->kv, &kc, be, err, errlen) < 0) {
        instance_free(in);
        return -1;
    }
    kernel_log_init(&in->log, INSTANCE_LOG_CAP);
    kernel_log_set_instance(&in->log, sp->role, be->device, sp->stage);
    if (kvcache_snapshot_init(&in->snap, in->kv) < 0 || !in->log.recs) {
        instance_free(in);
        snprintf(err, errlen, "instance %s: out of memory", kernel_role_name(sp->role));
        return -1;
    }
    instance_bind_log(in);
    return 0;
}

void instance_free(struct model_instance *in)
{
    for (int k = 0; k < in->group.n; k++)
        if (in->group.dev[k] && in->group.dev[k]->log == &in->log) in->group.dev[k]->log = NULL;
    forward_free(&in->fw);
    kvcache_snapshot_free(&in->snap);
    kvcache_destroy(in->kv);
    kernel_log_free(&in->log);
    memset(in, 0, sizeof *in);
}

void instance_bind_log(struct model_instance *in)
{
    for (int k = 0; k < in->group.n; k++) in->group.dev[k]->log = &in->log;
}

int instance_forward(struct model_instance *in, const struct fwd_seq *seqs, int n_seqs, float *hidden,
                     float *logits_out)
{
    return instance_forward_flags(in, seqs, n_seqs, hidden, logits_out, 0);
}

int instance_forward_flags(struct model_instance *in, const struct fwd_seq *seqs, int n_seqs, float *hidden,
                           float *logits_out, unsigned extra)
{
    unsigned flags = (in->l0 == 0 ? FWD_EMBED : 0) | (in->l1 == in->m->cfg.n_layers ? FWD_HEAD : 0) | extra;
    instance_bind_log(in);
    int rc = forward_stage(&in->fw, in->l0, in->l1, flags, seqs, n_seqs, hidden, logits_out);
    if (rc >= 0)
        for (int k = 0; k < in->group.n; k++) backend_sync(in->group.dev[k]);
    return rc;
}
