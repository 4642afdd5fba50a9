/* Reservation-aware admission (core/engine/admission.h, admission=reserve):
 * the peak against a step-by-step sum, and the scheduler alone (no model:
 * every step commits token 0) on random workloads — with reserve no request
 * is ever preempted and every one finishes; on a crafted case the watermark
 * preempts where reserve does not; and reserve admits exactly up to the peak. */
#include "core/engine/admission.h"
#include "core/engine/scheduler.h"
#include "kernels/cpu/cpu_backend.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct backend *g_be;
static void setup(void) { g_be = cpu_backend_create(1, CPU_SIMD_SCALAR); }
static void teardown(void) { backend_destroy(g_be); }
TestSuite(admission, .init = setup, .fini = teardown);

static uint64_t g_rng = 0x1234567ull;
static int rnd_in(int lo, int hi)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int)((g_rng >> 33) % (uint64_t)(hi - lo + 1));
}

static struct kvcache *make_pool(enum kv_alloc_kind kind, int bs, int n_blocks, int max_seq, int max_req, bool prefix)
{
    struct kvcache_config c = {.kind = kind, .n_layers = 1, .kv_dim = 2, .block_size = bs, .n_blocks = n_blocks,
                               .max_seq = max_seq, .max_requests = max_req, .prefix_cache = prefix,
                               .kv_type = DT_F32};
    struct kvcache *kv = NULL;
    char err[200] = "";
    cr_assert_eq(kvcache_create(&kv, &c, g_be, err, sizeof err), 0, "%s", err);
    return kv;
}

/* ---- the peak --------------------------------------------------------- */

/* Reference: walk every step and sum the room each request holds then. */
static int64_t peak_by_steps(const struct kvcache *kv, const struct adm_seq *s, int n)
{
    int last = 1;
    for (int i = 0; i < n; i++) last = s[i].end > last ? s[i].end : last;
    int64_t peak = 0;
    for (int t = 1; t <= last; t++) {
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (t > s[i].end) continue;
            int len = s[i].ctx;
            for (int k = s[i].grow + 1; k <= t; k++) len += len < s[i].final;
            sum += kvcache_hold_tokens(kv, len);
        }
        peak = sum > peak ? sum : peak;
    }
    return peak;
}

Test(admission, peak_equals_the_step_by_step_maximum)
{
    static const int BS[] = {1, 8, 16};
    for (int k = 0; k < 3; k++) {
        struct kvcache *kv = make_pool(KV_PAGED, BS[k], 64, 512, 4, false);
        for (int trial = 0; trial < 300; trial++) {
            struct adm_seq s[17];
            int n = rnd_in(1, 17);
            for (int i = 0; i < n; i++) {
                s[i].ctx = rnd_in(1, 200);
                s[i].final = s[i].ctx + rnd_in(0, 150);
                s[i].grow = rnd_in(0, 5);
                s[i].end = s[i].grow + (s[i].final - s[i].ctx) + rnd_in(0, 4);
                if (s[i].end < 1) s[i].end = 1;
            }
            cr_assert_eq(adm_peak_tokens(kv, s, n), peak_by_steps(kv, s, n), "block %d, trial %d", BS[k], trial);
        }
        kvcache_destroy(kv);
    }
}

Test(admission, contiguous_room_is_the_reservation_whatever_the_length)
{
    struct kvcache *kv = make_pool(KV_CONTIGUOUS, 8, 64, 100, 4, false);   /* 100 tokens round up to 104 */
    struct adm_seq s[2] = {{.ctx = 5, .final = 40, .grow = 0, .end = 35}, {.ctx = 90, .final = 99, .grow = 1, .end = 10}};
    cr_assert_eq(kvcache_hold_tokens(kv, 1), 104);
    cr_assert_eq(adm_peak_tokens(kv, s, 2), 208);
    cr_assert_eq(adm_hold_at(kv, s, 2, 11), 104, "the second ended");
    kvcache_destroy(kv);
}

/* ---- the scheduler alone ---------------------------------------------- */

struct drive {
    struct workload w;
    int32_t tokens[64 * 96];
    struct request_spec reqs[64];
};

/* n requests at t=0 with prompts of plo..phi and outputs of olo..ohi
 * tokens; prompts share leading tokens in pairs (the prefix cache finds them). */
static void make_workload(struct drive *d, int n, int plo, int phi, int olo, int ohi)
{
    memset(d, 0, sizeof *d);
    int at = 0;
    for (int i = 0; i < n; i++) {
        struct request_spec *r = &d->reqs[i];
        r->id = i;
        r->prompt_len = rnd_in(plo, phi);
        r->max_output = rnd_in(olo, ohi);
        r->prompt = d->tokens + at;
        r->group = -1;
        for (int t = 0; t < r->prompt_len; t++) r->prompt[t] = t < 16 ? 100 + i / 2 : 1000 + rnd_in(0, 999);
        at += r->prompt_len;
    }
    d->w = (struct workload){.n = n, .reqs = d->reqs, .tokens = d->tokens, .n_tokens = at};
}

struct outcome {
    uint64_t preemptions;
    int steps, finished, max_running;
};

/* Plan and commit steps (token 0 for every sample) until every request is done. */
static struct outcome drive_scheduler(const struct drive *d, struct kvcache *kv, const struct sched_config *c)
{
    struct scheduler s;
    char err[200];
    cr_assert_eq(sched_init(&s, c, kv, &d->w, 1, err, sizeof err), 0, "%s", err);
    static int32_t zeros[4096];
    struct outcome o = {0};
    for (int guard = 0; !sched_done(&s) && guard < 100000; guard++) {
        int preempted = 0;
        int n = sched_plan_step(&s, 0.0, &preempted);
        cr_assert_gt(n, 0, "step %d planned nothing with %d running", o.steps, s.n_running);
        if (s.n_running > o.max_running) o.max_running = s.n_running;
        o.finished += sched_commit_step(&s, zeros, 0.0);
        o.steps++;
    }
    o.preemptions = s.preemptions;
    sched_free(&s);
    return o;
}

Test(admission, reserve_never_preempts_and_finishes_every_request)
{
    static const int BS[] = {1, 8, 16};
    for (int trial = 0; trial < 300; trial++) {
        struct drive d;
        int n = rnd_in(4, 40), bs = BS[trial % 3];
        make_workload(&d, n, 1, 90, 1, 60);
        struct sched_config c = {.continuous = trial % 4 != 3, .max_batch = rnd_in(1, 16), .chunk = (trial / 3) % 3 * 7,
                                 .batch_wait_s = 0, .reserve = true};
        c.max_tokens_step = c.max_batch + rnd_in(0, 200);
        int blocks = (150 + bs - 1) / bs + rnd_in(0, 40);      /* always holds the longest request (150) */
        struct kvcache *kv = make_pool(KV_PAGED, bs, blocks, 160, c.max_batch, trial % 2 == 0);
        struct outcome o = drive_scheduler(&d, kv, &c);
        cr_assert_eq(o.preemptions, 0, "trial %d: %llu preemptions (block %d, %d blocks, max_batch %d, budget %d, "
                     "chunk %d, %s)", trial, (unsigned long long)o.preemptions, bs, blocks, c.max_batch,
                     c.max_tokens_step, c.chunk, c.continuous ? "continuous" : "static");
        cr_assert_eq(o.finished, n, "trial %d", trial);
        kvcache_destroy(kv);
    }
}

Test(admission, watermark_preempts_where_reserve_does_not)
{
    /* 8 requests of 40-token prompts and 60-token answers (99 KV tokens each
     * at the end) in 40 blocks of 8 = 320 tokens: all prompts fit at once
     * (watermark admits them), their answers do not */
    struct drive d;
    make_workload(&d, 8, 40, 40, 60, 60);
    struct sched_config c = {.continuous = true, .max_batch = 8, .max_tokens_step = 512};
    struct kvcache *kv = make_pool(KV_PAGED, 8, 40, 128, 8, false);
    struct outcome wm = drive_scheduler(&d, kv, &c);
    kvcache_destroy(kv);
    c.reserve = true;
    kv = make_pool(KV_PAGED, 8, 40, 128, 8, false);
    struct outcome rs = drive_scheduler(&d, kv, &c);
    kvcache_destroy(kv);
    cr_assert_gt(wm.preemptions, 0, "the watermark admits all 8 prompts and must preempt");
    cr_assert_eq(rs.preemptions, 0);
    cr_assert_eq(rs.max_running, 3, "3 x 104 tokens of room fit 320, 4 do not");
    cr_assert_eq(wm.finished, 8);
    cr_assert_eq(rs.finished, 8);
}

Test(admission, reserve_admits_exactly_up_to_the_peak)
{
    /* two requests of prompt 8, output 9: each ends at 16 tokens = 2 blocks
     * of 8, both together 4 blocks; a third would need 6 */
    struct drive d;
    make_workload(&d, 3, 8, 8, 9, 9);
    struct sched_config c = {.continuous = true, .max_batch = 3, .max_tokens_step = 64, .reserve = true};
    struct kvcache *kv = make_pool(KV_PAGED, 8, 4, 32, 3, false);
    struct scheduler s;
    char err[200];
    cr_assert_eq(sched_init(&s, &c, kv, &d.w, 1, err, sizeof err), 0, "%s", err);
    int preempted = 0;
    cr_assert_eq(sched_plan_step(&s, 0.0, &preempted), 2, "the two that fit at their peak prefill together");
    cr_assert_eq(s.n_running, 2);
    sched_free(&s);
    kvcache_destroy(kv);
    /* two blocks more: all three */
    kv = make_pool(KV_PAGED, 8, 6, 32, 3, false);
    cr_assert_eq(sched_init(&s, &c, kv, &d.w, 1, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sched_plan_step(&s, 0.0, &preempted), 3);
    sched_free(&s);
    kvcache_destroy(kv);
}
