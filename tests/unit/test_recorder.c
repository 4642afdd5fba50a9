/* Recorder: round trip of a run through a JSON Lines recording; truncated and
 * corrupted recordings stop at the damage with file:line and never crash
 * (this suite also runs under ASan+UBSan); exports of what was read. */
#include "traces/export.h"
#include "traces/recorder.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A small run: 3 steps (prefill, mixed, decode) of a 2-layer model with the
 * forward pass's kernel order, and the request events. */
static void add_kernel(struct trace_step *st, const char *name, enum op_class c, int layer, int64_t *t)
{
    struct trace_kernel *k = &st->kernels[st->n_kernels++];
    snprintf(k->name, sizeof k->name, "%s", name);
    k->cls = c; k->layer = layer; k->t_ns = *t; k->dur_ns = 1000 + 37 * st->n_kernels;
    k->shape[0] = st->n_kernels; k->flops = 1.5e6 * st->n_kernels; k->dram_bytes = 123.25; k->chip_bytes = 7;
    *t += k->dur_ns + 10;
}

static void make_run(struct trace_run *r)
{
    trace_run_init(r);
    snprintf(r->h.model, sizeof r->h.model, "synth:tiny seed=1 f32");
    snprintf(r->h.scenario, sizeof r->h.scenario, "unit");
    snprintf(r->h.device, sizeof r->h.device, "cpu");
    snprintf(r->h.device_reason, sizeof r->h.device_reason, "no GPU \"here\"");
    snprintf(r->h.options, sizeof r->h.options, "attn=flash kv=paged");
    r->h.n_requests = 2; r->h.n_layers = 2; r->h.pid = 42; r->h.tid = 42; r->h.t0_raw_ns = 123456789012345;
    int64_t t = 1000;
    for (int s = 0; s < 3; s++) {
        struct trace_step *st = trace_run_add_step(r);
        cr_assert_not_null(st);
        st->rec.index = (uint64_t)s;
        st->t_ns = t; st->plan_ns = 500;
        st->n_items = 2;
        st->items = calloc(2, sizeof *st->items);
        st->items[0] = (struct trace_item){0, s ? 20 + s : 0, s ? 1 : 20, s > 0};
        st->items[1] = (struct trace_item){1, s == 2 ? 31 : 0, s == 2 ? 1 : 30 / (s + 1), s == 2};
        st->rec.prefill_tokens = s == 0 ? 50 : s == 1 ? 15 : 0;
        st->rec.decode_tokens = s == 0 ? 0 : s == 1 ? 1 : 2;
        st->rec.batch_size = 2; st->rec.kv.utilization = 0.125 * (s + 1); st->rec.kv.used_tokens = 50 + s;
        st->rec.ops[OPC_MATMUL] = (struct op_class_sum){0.001 / 3, 1e9, 2e6, 3e6, 7};
        st->kernels = calloc(64, sizeof *st->kernels);
        int64_t kt = t + 600;
        add_kernel(st, "embed", OPC_EMBED, -1, &kt);
        for (int l = 0; l < 2; l++) {
            add_kernel(st, "rmsnorm", OPC_NORM, l, &kt);
            add_kernel(st, "matmul_f32", OPC_MATMUL, l, &kt);
            add_kernel(st, "rope", OPC_ELTWISE, l, &kt);
            for (int q = 0; q < 2; q++) {
                add_kernel(st, "kv_store", OPC_COPY, l, &kt);
                add_kernel(st, "attn_flash", OPC_ATTN, l, &kt);
                st->kernels[st->n_kernels - 1].seq = q;          /* v3 tags */
                st->kernels[st->n_kernels - 1].stage = l;
            }
            add_kernel(st, "add", OPC_ELTWISE, l, &kt);
            add_kernel(st, "rmsnorm", OPC_NORM, l, &kt);
            add_kernel(st, "matmul_f32", OPC_MATMUL, l, &kt);
            add_kernel(st, "add", OPC_ELTWISE, l, &kt);
        }
        add_kernel(st, "matmul_f32", OPC_MATMUL, -1, &kt);
        st->detailed = true;
        for (int k = 0; k < st->n_kernels; k++)
            if (st->kernels[k].cls != OPC_ATTN) st->kernels[k].seq = -1;
        st->kernels[0].role = KROLE_DRAFT;
        for (int k = 0; s == 2 && k < st->n_kernels; k++) st->kernels[k].device = 1;   /* a whole step on device 1 */
        /* v3 commits: request 0 commits s + 1 tokens (speculation), request 1 one from step 1 on */
        st->commits = calloc(2, sizeof *st->commits);
        st->commit_tokens = calloc(8, sizeof *st->commit_tokens);
        st->commits[st->n_commits++] = (struct trace_commit){0, s + 1, 0};
        for (int k = 0; k <= s; k++) st->commit_tokens[st->n_commit_tokens++] = 49000 + 10 * s + k;
        if (s > 0) {
            st->commits[st->n_commits++] = (struct trace_commit){1, 1, st->n_commit_tokens};
            st->commit_tokens[st->n_commit_tokens++] = 7 * s;
        }
        st->sample_t_ns = kt + 5; st->sample_ns = 300;
        st->dur_ns = st->sample_t_ns + st->sample_ns - t;
        t += st->dur_ns + 50;
    }
    const struct { enum trace_event_kind k; int64_t t; int req; } evs[] = {
        {TEV_ARRIVE, 0, 0}, {TEV_ARRIVE, 10, 1}, {TEV_ADMIT, 1000, 0}, {TEV_ADMIT, 1000, 1},
        {TEV_FIRST_TOKEN, 3000, 0}, {TEV_FIRST_TOKEN, 5000, 1}, {TEV_FINISH, t, 0},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        struct trace_event *e = trace_run_add_event(r);
        e->kind = evs[i].k; e->t_ns = evs[i].t; e->req = evs[i].req;
        e->generated = evs[i].k == TEV_FIRST_TOKEN ? 1 : evs[i].k == TEV_FINISH ? 6 : 0;
        e->cached = evs[i].k == TEV_ADMIT ? 16 * (1 + evs[i].req) : 0;
        e->has_hash = evs[i].k == TEV_FINISH;
        e->hash = e->has_hash ? 0xfedcba9876543210ull : 0;
    }
    struct trace_event *p = trace_run_add_event(r);
    p->kind = TEV_PREEMPT; p->t_ns = 4000; p->req = 1; p->generated = 1; p->dropped = 31;
    struct trace_kv *kv = trace_run_add_kv(r, 3);
    kv->t_ns = 4500; kv->after_step = 2; kv->pool = 1; kv->kind = KV_PAGED; kv->block_size = 16;
    for (int b = 0; b < 3; b++) kv->blocks[b] = (struct kv_block_info){b == 2 ? -1 : b, 16, 1, KVB_OWNED, false};
    struct trace_event *o = trace_run_add_event(r);
    o->kind = TEV_OPTION; o->t_ns = 2000;
    snprintf(o->name, sizeof o->name, "attn"); snprintf(o->value, sizeof o->value, "naive");
}

static char *write_recording(const struct trace_run *r, size_t *len)
{
    char path[] = "/tmp/infertop_rec_XXXXXX", err[256];
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    struct recorder w;
    cr_assert_eq(recorder_open(&w, path, r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(recorder_close(&w, r, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *buf = malloc(*len + 1);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    unlink(path);
    return buf;
}

Test(recorder, round_trip_keeps_every_field_the_exporters_use)
{
    struct trace_run a, b;
    make_run(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(b.h.model, a.h.model);
    cr_assert_str_eq(b.h.device_reason, a.h.device_reason);
    cr_assert_str_eq(b.h.options, a.h.options);
    cr_assert_eq(b.h.t0_raw_ns, a.h.t0_raw_ns);
    cr_assert_eq(b.n_steps, 3);
    cr_assert_eq(b.n_ev, a.n_ev);
    for (int s = 0; s < 3; s++) {
        const struct trace_step *x = &a.steps[s], *y = &b.steps[s];
        cr_assert_eq(y->t_ns, x->t_ns); cr_assert_eq(y->dur_ns, x->dur_ns); cr_assert_eq(y->plan_ns, x->plan_ns);
        cr_assert_eq(y->sample_t_ns, x->sample_t_ns);
        cr_assert_eq(y->n_kernels, x->n_kernels);
        cr_assert_eq(y->rec.ops[OPC_MATMUL].time_s, x->rec.ops[OPC_MATMUL].time_s);   /* doubles exact */
        cr_assert_eq(y->rec.kv.utilization, x->rec.kv.utilization);
        cr_assert_eq(memcmp(y->items, x->items, 2 * sizeof *x->items), 0);
        for (int k = 0; k < x->n_kernels; k++) {
            cr_assert_str_eq(y->kernels[k].name, x->kernels[k].name);
            cr_assert_eq(y->kernels[k].t_ns, x->kernels[k].t_ns);
            cr_assert_eq(y->kernels[k].dur_ns, x->kernels[k].dur_ns);
            cr_assert_eq(y->kernels[k].flops, x->kernels[k].flops);
            cr_assert_eq(y->kernels[k].layer, x->kernels[k].layer);
        }
    }
    cr_assert_str_eq(b.ev[b.n_ev - 1].value, "naive");
    trace_run_free(&a); trace_run_free(&b); free(buf);
}

/* A kernel name that is not UTF-8 is written as U+FFFD (the reader refuses
 * invalid strings), one that is stays byte for byte. */
Test(recorder, kernel_names_are_written_as_utf8)
{
    struct trace_run a, b;
    make_run(&a);
    snprintf(a.steps[0].kernels[0].name, sizeof a.steps[0].kernels[0].name, "bad\xff\xc0name");
    snprintf(a.steps[0].kernels[1].name, sizeof a.steps[0].kernels[1].name, "caf\xc3\xa9 \"q\"");
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(b.steps[0].kernels[0].name, "bad\xef\xbf\xbd\xef\xbf\xbdname");
    cr_assert_str_eq(b.steps[0].kernels[1].name, "caf\xc3\xa9 \"q\"");
    trace_run_free(&a); trace_run_free(&b); free(buf);
}

Test(recorder, version3_round_trip_keeps_commits_tags_progress_and_pool)
{
    struct trace_run a, b;
    make_run(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(b.h.version, TRACE_FORMAT_VERSION);
    for (int s = 0; s < 3; s++) {
        const struct trace_step *x = &a.steps[s], *y = &b.steps[s];
        cr_assert_eq(y->n_commits, x->n_commits);
        cr_assert_eq(y->n_commit_tokens, x->n_commit_tokens);
        cr_assert_eq(memcmp(y->commits, x->commits, (size_t)x->n_commits * sizeof *x->commits), 0);
        cr_assert_eq(memcmp(y->commit_tokens, x->commit_tokens, (size_t)x->n_commit_tokens * sizeof(int32_t)), 0);
        cr_assert_eq(y->rec.committed, x->n_commit_tokens);
        for (int k = 0; k < x->n_kernels; k++) {
            const struct trace_kernel *p = &x->kernels[k], *q = &y->kernels[k];
            cr_assert(p->role == q->role && p->device == q->device && p->stage == q->stage && p->seq == q->seq,
                      "step %d kernel %d tags", s, k);
        }
    }
    for (int i = 0; i < a.n_ev; i++) {
        const struct trace_event *x = &a.ev[i], *y = &b.ev[i];
        cr_assert_eq(y->kind, x->kind);
        if (x->kind == TEV_OPTION) continue;
        cr_assert_eq(y->generated, x->generated, "event %d", i);
        cr_assert_eq(y->cached, x->cached, "event %d", i);
        cr_assert_eq(y->dropped, x->dropped, "event %d", i);
        cr_assert_eq(y->has_hash, x->has_hash);
        cr_assert_eq(y->hash, x->hash, "event %d: %llx", i, (unsigned long long)y->hash);
    }
    cr_assert_eq(b.n_kvs, 1);
    cr_assert_eq(b.kvs[0].pool, 1);
    /* a v3 step without its commits is damage, named */
    char *cut = strstr(buf, ",\"commits\":");
    cr_assert_not_null(cut);
    memcpy(cut, ",\"commitz\":", 11);
    trace_run_free(&b);
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 1);
    cr_assert(strstr(err, "commits: expected an array"), "%s", err);
    trace_run_free(&a); trace_run_free(&b); free(buf);
}

/* Version 4: the header's quality record round-trips (doubles exact); a v3
 * header reads as "none"; a bad state or a missing field is damage, named. */
Test(recorder, version4_round_trip_keeps_the_quality_record)
{
    struct trace_run a, b;
    make_run(&a);
    a.h.quality = (struct tel_quality){.state = TQ_MEASURED, .tokens = 256, .scored = 127, .kld = 0.146334,
                                       .kld_err = 0.0067, .same_top = 0.802, .same_top_err = 0.0177,
                                       .ppl_ratio = 1.087, .seconds = 3.25};
    snprintf(a.h.quality.mode, sizeof a.h.quality.mode, "quant=int4");
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 0, "%s", err);
    const struct tel_quality *x = &a.h.quality, *y = &b.h.quality;
    cr_assert_eq(y->state, TQ_MEASURED);
    cr_assert_str_eq(y->mode, "quant=int4");
    cr_assert(y->tokens == 256 && y->scored == 127);
    cr_assert(y->kld == x->kld && y->kld_err == x->kld_err && y->same_top == x->same_top &&
              y->same_top_err == x->same_top_err && y->ppl_ratio == x->ppl_ratio && y->seconds == x->seconds);
    trace_run_free(&b);
    char *v = strstr(buf, "\"version\":5");
    cr_assert_not_null(v);
    v[10] = '3';
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(b.h.quality.state, TQ_NONE, "a version 3 header has no quality");
    trace_run_free(&b);
    v[10] = '5';
    char *st = strstr(buf, "\"state\":\"measured\"");
    cr_assert_not_null(st);
    memcpy(st, "\"state\":\"measurex\"", 18);
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), -1);
    cr_assert(strstr(err, "rec:1: quality.state: expected none, reference"), "%s", err);
    trace_run_free(&b);
    memcpy(st, "\"stata\"", 7);
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), -1);
    cr_assert(strstr(err, "rec:1: state: expected a string"), "%s", err);
    trace_run_free(&a); trace_run_free(&b); free(buf);
}

/* A tp=2 pp=2 group on make_run's run: the header's run info and, on steps
 * 0 and 2, per-device rows and segments (compute per micro-batch, send,
 * recv, idle) with distinct values. */
static void add_parallel(struct trace_run *r)
{
    struct tel_parallel *h = &r->h.par;
    h->tp = 2; h->pp = 2; h->micro_batches = 2; h->sp = true; h->n_devices = 4; h->shared_cores = true;
    snprintf(h->comm_algo, sizeof h->comm_algo, "ring");
    for (int s = 0; s < 3; s += 2) {
        struct trace_step *st = &r->steps[s];
        st->par = calloc(1, sizeof *st->par);
        cr_assert_not_null(st->par);
        struct tel_parallel *t = &st->par->tel;
        *t = *h;
        t->mb_used = 2 - s / 2; t->span_s = 0.002125 + s * 1e-6; t->bubble = 0.25 + s * 0.01;
        t->bubble_formula = 1.0 / 3; t->comm_share = 0.4375;
        for (int d = 0; d < 4; d++)
            t->dev[d] = (struct tel_device){d, d / 2, d % 2, d / 2, d / 2 + 1, 1e-3 * (d + 1), 2e-4 * (d + 1),
                                            3e-6 * (d + 1), 1000.0 * (d + 1), 2048, 4096 + d, 512 * (s + 1) + d};
        st->par->segs = calloc(16, sizeof *st->par->segs);
        double t0 = st->t_ns / 1e9;
        for (int d = 0; d < 4; d++) {
            st->par->segs[st->par->n_segs++] = (struct tel_segment){(int16_t)d, (int16_t)(d / 2), -1, SEG_IDLE, t0, t0 + 1e-6};
            st->par->segs[st->par->n_segs++] = (struct tel_segment){(int16_t)d, (int16_t)(d / 2), 0,
                                                                     d < 2 ? SEG_SEND : SEG_RECV, t0 + 1e-6, t0 + 2e-6};
            st->par->segs[st->par->n_segs++] = (struct tel_segment){(int16_t)d, (int16_t)(d / 2), 1, SEG_COMPUTE,
                                                                     t0 + 2e-6, t0 + 7e-6};
        }
    }
}

Test(recorder, version5_round_trip_keeps_pipeline_segments_and_devices)
{
    struct trace_run a, b;
    make_run(&a);
    add_parallel(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 0, "%s", err);
    cr_assert_eq(b.h.version, 5);
    cr_assert(b.h.par.tp == 2 && b.h.par.pp == 2 && b.h.par.micro_batches == 2 && b.h.par.sp && b.h.par.n_devices == 4 &&
              b.h.par.shared_cores && !strcmp(b.h.par.comm_algo, "ring"));
    cr_assert_null(b.steps[1].par, "a step without segments reads without");
    for (int s = 0; s < 3; s += 2) {
        const struct trace_par *x = a.steps[s].par, *y = b.steps[s].par;
        cr_assert_not_null(y, "step %d", s);
        cr_assert_eq(y->tel.mb_used, x->tel.mb_used);
        cr_assert_float_eq(y->tel.span_s, x->tel.span_s, 1e-12);
        cr_assert_eq(y->tel.bubble, x->tel.bubble);
        cr_assert_eq(y->tel.bubble_formula, x->tel.bubble_formula);
        cr_assert_eq(y->tel.comm_share, x->tel.comm_share);
        cr_assert_eq(b.steps[s].rec.par_bubble, x->tel.bubble, "the step record gets the bubble back");
        cr_assert_eq(b.steps[s].rec.par_resid_bytes, 512 * (s + 1) + 3);
        for (int d = 0; d < 4; d++) {
            const struct tel_device *p = &x->tel.dev[d], *q = &y->tel.dev[d];
            cr_assert(q->device == d && q->stage == p->stage && q->rank == p->rank && q->l0 == p->l0 && q->l1 == p->l1,
                      "step %d device %d", s, d);
            cr_assert_float_eq(q->compute_s, p->compute_s, 1e-12);
            cr_assert_float_eq(q->comm_s, p->comm_s, 1e-12);
            cr_assert_float_eq(q->idle_s, p->idle_s, 1e-12);
            cr_assert(q->weight_bytes == p->weight_bytes && q->kv_bytes == p->kv_bytes && q->act_bytes == p->act_bytes &&
                      q->resid_bytes == p->resid_bytes);
        }
        cr_assert_eq(y->n_segs, x->n_segs);
        for (int i = 0; i < x->n_segs; i++) {
            const struct tel_segment *p = &x->segs[i], *q = &y->segs[i];
            cr_assert(q->device == p->device && q->stage == p->stage && q->mb == p->mb && q->kind == p->kind,
                      "step %d seg %d", s, i);
            cr_assert_float_eq(q->t0_s, p->t0_s, 1e-9);
            cr_assert_float_eq(q->t1_s, p->t1_s, 1e-9);
        }
    }
    /* the Chrome trace: one pipeline track per device, bubbles and comm among its slices */
    char path[] = "/tmp/infertop_par_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(export_chrome(&b, path, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "rb");
    char *json = calloc(1, 1 << 20);
    size_t n = fread(json, 1, (1 << 20) - 1, f);
    fclose(f);
    unlink(path);
    cr_assert_gt(n, 0);
    cr_assert(strstr(json, "\"device 3 pipeline (stage 1, rank 1)\""), "a track per device");
    cr_assert(strstr(json, "\"idle (bubble)\""), "bubble slices");
    cr_assert(strstr(json, "\"recv mb 0\""), "recv slices");
    cr_assert(strstr(json, "\"cat\":\"comm\""), "send/recv are comm ranges");
    cr_assert(strstr(json, "\"pipeline bubble % (measured)\""), "the measured bubble as a counter");
    free(json);
    trace_run_free(&b);
    /* damage is named: a segment of an unknown kind, a device row too many, par in a v3 file */
    char *k = strstr(buf, ",\"segs\":[0,0,-1,3,");
    cr_assert_not_null(k);
    k[strlen(",\"segs\":[0,0,-1,")] = '9';
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), 1);
    cr_assert(strstr(err, "rec:2: par.segs: expected an integer in [0, 3]"), "%s", err);
    trace_run_free(&b);
    k[strlen(",\"segs\":[0,0,-1,")] = '3';
    char *v = strstr(buf, "\"version\":5");
    v[10] = '3';
    cr_assert_eq(recorder_read_buffer("rec", buf, len, &b, err, sizeof err), -1);
    cr_assert(strstr(err, "rec:1: parallel: needs version 5 or later (header says 3)"), "%s", err);
    trace_run_free(&b);
    trace_run_free(&a); free(buf);
}

static int count_range(void *ctx, const struct trace_run *r, const struct trace_step *st, const struct trace_range *rg)
{
    (void)r; (void)st;
    int *n = ctx;
    if (!strcmp(rg->name, "layer")) n[0]++;
    if (!strcmp(rg->name, "prefill")) n[1]++;
    if (!strcmp(rg->name, "decode")) n[2]++;
    if (!strcmp(rg->name, "mlp")) n[3]++;
    return 0;
}

Test(recorder, range_tree_groups_attention_by_phase)
{
    struct trace_run a;
    make_run(&a);
    int n[4] = {0};
    for (int s = 0; s < a.n_steps; s++) trace_step_ranges(&a, &a.steps[s], count_range, n);
    cr_assert_eq(n[0], 6);               /* 3 steps x 2 layers */
    cr_assert_eq(n[3], 6);
    /* step 0: 2 prefill seqs (1 group/layer); step 1: decode then prefill (2 groups); step 2: 2 decodes */
    cr_assert_eq(n[1], 2 + 2, "prefill groups %d", n[1]);
    cr_assert_eq(n[2], 2 + 2, "decode groups %d", n[2]);
    trace_run_free(&a);
}

/* Every prefix of the file: complete only at full length; otherwise a
 * "name:LINE:" message, and the steps kept are whole steps. */
Test(recorder, truncated_at_every_byte_stops_with_file_and_line)
{
    struct trace_run a, b;
    make_run(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut + 1);   /* exact size: ASan catches any read past the cut */
        memcpy(copy, buf, cut);
        int rc = recorder_read_buffer("cut.jsonl", copy, cut, &b, err, sizeof err);
        if (cut == len) cr_assert_eq(rc, 0, "%s", err);
        else {
            cr_assert(rc == 1 || rc == -1, "cut %zu: rc %d", cut, rc);
            cr_assert(strncmp(err, "cut.jsonl:", 10) == 0, "cut %zu: %s", cut, err);
            cr_assert(b.n_steps <= 3);
            for (int s = 0; s < b.n_steps; s++) cr_assert_eq(b.steps[s].n_kernels, a.steps[s].n_kernels);
        }
        trace_run_free(&b);
        free(copy);
    }
    trace_run_free(&a); free(buf);
}

Test(recorder, flipped_bytes_never_crash_and_partial_runs_export)
{
    struct trace_run a, b;
    make_run(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256], xerr[256];
    char out[] = "/tmp/infertop_flip_XXXXXX";
    int fd = mkstemp(out);
    close(fd);
    unsigned seed = 7;
    int damaged = 0;
    for (int trial = 0; trial < 1500; trial++) {
        char *copy = malloc(len);
        memcpy(copy, buf, len);
        for (int f = 0; f < 1 + trial % 3; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % len;
            copy[pos] ^= (char)(1u << ((seed >> 4) % 8));
        }
        int rc = recorder_read_buffer("flip.jsonl", copy, len, &b, err, sizeof err);
        cr_assert(rc >= -1 && rc <= 1);
        if (rc != 0) { damaged++; cr_assert(strncmp(err, "flip.jsonl:", 11) == 0, "%s", err); }
        if (rc >= 0 && trial % 25 == 0) {
            cr_assert_eq(export_chrome(&b, out, xerr, sizeof xerr), 0, "%s", xerr);
            cr_assert_eq(export_nvtxt(&b, out, NVTXT_MANUAL, xerr, sizeof xerr), 0, "%s", xerr);
        }
        trace_run_free(&b);
        free(copy);
    }
    cr_assert_gt(damaged, 1000);
    unlink(out);
    trace_run_free(&a); free(buf);
}

Test(recorder, bad_inputs_name_the_field)
{
    struct trace_run b;
    char err[256];
    const char *empty = "";
    cr_assert_eq(recorder_read_buffer("e", empty, 0, &b, err, sizeof err), -1);
    cr_assert_str_eq(err, "e:1: expected a header line (the file is empty)");
    trace_run_free(&b);
    const char *wrong = "{\"type\":\"header\",\"format\":\"other\"}\n";
    cr_assert_eq(recorder_read_buffer("w", wrong, strlen(wrong), &b, err, sizeof err), -1);
    cr_assert(strstr(err, "w:1: format: expected \"infertop-recording\""), "%s", err);
    trace_run_free(&b);
    cr_assert_eq(recorder_read("/nonexistent/rec.jsonl", &b, err, sizeof err), -1);
    cr_assert(strstr(err, "/nonexistent/rec.jsonl: cannot open"), "%s", err);
    trace_run_free(&b);
}

/* recorder_read_compact keeps no kernel records; recorder_read_step re-reads
 * any step with them from its offset, equal to the whole-file read. */
Test(recorder, compact_read_and_step_reread_match_the_full_read)
{
    struct trace_run a, full, compact;
    make_run(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256], path[] = "/tmp/infertop_compact_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0 && write(fd, buf, len) == (ssize_t)len);
    close(fd);
    int64_t *offs = NULL;
    cr_assert_eq(recorder_read(path, &full, err, sizeof err), 0, "%s", err);
    cr_assert_eq(recorder_read_compact(path, &compact, &offs, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(offs);
    cr_assert_eq(compact.n_steps, full.n_steps);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    for (int s = 0; s < full.n_steps; s++) {
        cr_assert_eq(compact.steps[s].n_kernels, 0, "compact keeps no kernels");
        cr_assert(compact.steps[s].detailed);
        cr_assert_eq(compact.steps[s].t_ns, full.steps[s].t_ns);
        cr_assert_eq(buf[offs[s]], '{', "offset at a line start");
        struct trace_step st;
        cr_assert_eq(recorder_read_step(f, path, offs[s], &compact, &st, err, sizeof err), 0, "%s", err);
        cr_assert_eq(st.n_kernels, full.steps[s].n_kernels);
        cr_assert_eq(st.n_items, full.steps[s].n_items);
        for (int k = 0; k < st.n_kernels; k++) {
            cr_assert_str_eq(st.kernels[k].name, full.steps[s].kernels[k].name);
            cr_assert_eq(st.kernels[k].t_ns, full.steps[s].kernels[k].t_ns);
        }
        trace_step_free(&st);
    }
    struct trace_step st;
    cr_assert_eq(recorder_read_step(f, path, 0, &compact, &st, err, sizeof err), -1, "offset 0 is the header");
    cr_assert(strstr(err, "type: expected \"step\""), "%s", err);
    fclose(f);
    free(offs);
    free(buf);
    unlink(path);
    trace_run_free(&a);
    trace_run_free(&full);
    trace_run_free(&compact);
}

/* A line longer than the limit is damage at that line, not a read of it. */
Test(recorder, overlong_line_is_an_error_naming_the_line)
{
    struct trace_run a, b;
    make_run(&a);
    size_t len;
    char *buf = write_recording(&a, &len), err[256];
    const char *nl = memchr(buf, '\n', len);
    size_t head = (size_t)(nl - buf) + 1, big = RECORDING_MAX_LINE + 10;
    char *copy = malloc(head + big + 1);
    memcpy(copy, buf, head);
    memset(copy + head, ' ', big);
    copy[head + big] = '\n';
    cr_assert_eq(recorder_read_buffer("big.jsonl", copy, head + big + 1, &b, err, sizeof err), 1);
    cr_assert(strstr(err, "big.jsonl:2: line longer than 16 MiB"), "%s", err);
    trace_run_free(&b);
    free(copy);
    free(buf);
    trace_run_free(&a);
}
