/* The runner applies an option change by its class in the options table:
 * live ones at a step boundary within the same epoch, rebuild ones by
 * restarting the scenario (a new epoch, new caches), process ones and
 * options scenario runs do not use are refused with a log line. */
#include "core/engine/engine.h"
#include "core/engine/runner.h"
#include "kernels/cpu/cpu_backend.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Fixed arrivals at 4 req/s: 400 requests keep the epoch running for the test. */
static const char *SCENARIO =
    "[scenario]\nname = runner-test\nseed = 1\nrequests = 400\n"
    "[arrival]\nprocess = fixed\nrate = 4\n"
    "[prompt]\ndist = fixed\nvalue = 8\n"
    "[output]\ndist = fixed\nvalue = 4\n";

static struct model g_model;
static struct backend *g_be;
static struct runner *g_r;
static uint64_t g_log_cursor;

static void setup(void)
{
    char err[256];
    struct runner_config cfg = {0};
    cr_assert_eq(model_synth(&g_model, &model_preset_find("tiny")->cfg, DT_F32, 5, 1, err, sizeof err), 0);
    g_be = cpu_backend_create(1, CPU_SIMD_AVX512);
    options_defaults(&cfg.opt);
    cfg.model = &g_model;
    cfg.be = g_be;
    cr_assert_eq(scenario_parse_buffer("runner.ini", SCENARIO, strlen(SCENARIO), &cfg.sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(runner_start(&g_r, &cfg, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    runner_stop(g_r);
    backend_destroy(g_be);
    model_free(&g_model);
}

TestSuite(runner, .init = setup, .fini = teardown);   /* every wait below gives up after 10 s */

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait (up to 10 s) for a log line containing `want`; false when none came. */
static bool wait_log(const char *want, char *line_out)
{
    char lines[16][160];
    for (int t = 0; t < 1000; t++) {
        int n = runner_read_log(g_r, &g_log_cursor, lines, 16);
        for (int i = 0; i < n; i++)
            if (strstr(lines[i], want)) {
                if (line_out) memcpy(line_out, lines[i], 160);
                return true;
            }
        sleep_ms(10);
    }
    return false;
}

/* The published state once it shows `pred` (up to 10 s). */
static struct runner_state *state_when(bool (*pred)(const struct runner_state *))
{
    static struct runner_state st;
    for (int t = 0; t < 1000; t++) {
        runner_latest(g_r, &st);
        if (pred(&st)) return &st;
        sleep_ms(10);
    }
    return &st;
}

static bool stepped(const struct runner_state *s) { return s->steps > 2; }
static bool is_static(const struct runner_state *s) { return opt_enum(&s->opt, BATCHING) == BATCHING_STATIC; }
static bool is_contiguous(const struct runner_state *s) { return s->kv_kind == KV_CONTIGUOUS && s->epoch > 0; }
static bool has_5_requests(const struct runner_state *s) { return s->requests_total == 5; }

Test(runner, live_option_applies_at_a_step_without_a_restart)
{
    struct runner_state *st = state_when(stepped);
    cr_assert_gt(st->steps, 2, "the engine runs");
    uint64_t epoch = st->epoch;
    cr_assert(runner_set_option(g_r, OPT_BATCHING, "static"));
    cr_assert(wait_log("batching=static applied at step", NULL));
    st = state_when(is_static);
    cr_assert(is_static(st));
    cr_assert_eq(st->epoch, epoch, "a live option does not restart the scenario");
}

Test(runner, rebuild_option_restarts_the_scenario_with_new_caches)
{
    state_when(stepped);
    cr_assert(runner_set_option(g_r, OPT_KV, "contiguous"));
    cr_assert(wait_log("kv=contiguous rebuilds the workload", NULL));
    struct runner_state *st = state_when(is_contiguous);
    cr_assert_eq(st->kv_kind, KV_CONTIGUOUS, "the new epoch's cache is contiguous");
    cr_assert_eq(st->epoch, 1);
    /* requests is class rebuild too: the new epoch has the new count */
    cr_assert(runner_set_option(g_r, OPT_REQUESTS, "5"));
    cr_assert(wait_log("requests=5 rebuilds the workload", NULL));
    st = state_when(has_5_requests);
    cr_assert_eq(st->requests_total, 5);
}

Test(runner, process_and_unused_options_are_refused)
{
    char line[160];
    state_when(stepped);
    cr_assert(runner_set_option(g_r, OPT_THREADS, "3"));
    cr_assert(wait_log("threads=3 not applied", line));
    cr_assert(strstr(line, "at the next start of infertop"), "%s", line);
    cr_assert(runner_set_option(g_r, OPT_MAX_TOKENS, "9"));
    cr_assert(wait_log("max_tokens=9 not applied", NULL));
    cr_assert(runner_set_option(g_r, OPT_ATTN, "sideways"));
    cr_assert(wait_log("error: attn: expected one of naive|flash, got 'sideways'", NULL));
    struct runner_state st;
    sleep_ms(50);
    runner_latest(g_r, &st);
    cr_assert_eq(opt_i(&st.opt, OPT_THREADS), 0, "refused options keep their value");
    cr_assert_eq(opt_i(&st.opt, OPT_MAX_TOKENS), 64);
    cr_assert_eq(opt_enum(&st.opt, ATTN), ATTN_FLASH);
    cr_assert_eq(st.epoch, 0, "and restart nothing");
}

static bool has_running(const struct runner_state *s) { return s->n_reqs > 0 && s->n_blocks > 0 && s->running > 0; }

/* runner_latest copies blocks[], reqs[] and seg[] only up to their counts:
 * two copies of one publication, into buffers filled with different bytes,
 * agree on every field and every used entry (a field the copy missed keeps
 * the fill byte and differs). A runner of its own, whose 4 requests all
 * arrive at once (and again each epoch), so some are running when paused. */
Test(runner_copy, latest_copies_every_field_and_the_used_entries)
{
    static const char *ALL = "[scenario]\nname = copy-test\nseed = 1\nrequests = 4\n[arrival]\nprocess = all\n"
                             "[prompt]\ndist = fixed\nvalue = 24\n[output]\ndist = fixed\nvalue = 48\n";
    static struct runner_state a, b;
    char err[256];
    struct runner_config cfg = {0};
    struct model m;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 5, 1, err, sizeof err), 0);
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AVX512);
    options_defaults(&cfg.opt);
    cfg.model = &m;
    cfg.be = be;
    cr_assert_eq(scenario_parse_buffer("copy.ini", ALL, strlen(ALL), &cfg.sc, err, sizeof err), 0, "%s", err);
    struct runner *r;
    cr_assert_eq(runner_start(&r, &cfg, err, sizeof err), 0, "%s", err);
    struct runner_cmd pause = {.kind = RCMD_PAUSE};
    for (int t = 0; t < 1000 && !a.paused; t++) {
        runner_latest(r, &a);
        if (has_running(&a)) cr_assert(runner_send(r, &pause));
        sleep_ms(10);
    }
    cr_assert(a.paused && has_running(&a), "paused with requests running");
    for (int t = 0; t < 100; t++) {
        memset(&a, 0xab, sizeof a);
        memset(&b, 0x00, sizeof b);
        runner_latest(r, &a);
        runner_latest(r, &b);
        if (a.version == b.version) break;
    }
    runner_stop(r);
    backend_destroy(be);
    model_free(&m);
    cr_assert_eq(a.version, b.version, "two reads of one publication");
    cr_assert(has_running(&a));
    cr_assert_eq(memcmp(&a, &b, offsetof(struct runner_state, blocks)), 0, "the fields before blocks[]");
    cr_assert_eq(memcmp(a.blocks, b.blocks, (size_t)a.n_blocks * sizeof a.blocks[0]), 0);
    cr_assert_eq(a.n_reqs, b.n_reqs);
    cr_assert_eq(memcmp(a.reqs, b.reqs, (size_t)a.n_reqs * sizeof a.reqs[0]), 0);
    cr_assert_eq(memcmp(&a.par, &b.par, sizeof a.par), 0);
    cr_assert_eq(a.n_seg, b.n_seg);
    cr_assert_eq(memcmp(a.seg, b.seg, (size_t)a.n_seg * sizeof a.seg[0]), 0);
    size_t tail = offsetof(struct runner_state, ttft_p50_ms);
    cr_assert_eq(memcmp((char *)&a + tail, (char *)&b + tail, sizeof a - tail), 0, "the fields after seg[]");
    if (a.n_blocks < RUNNER_MAX_BLOCKS)
        cr_assert_eq(a.blocks[a.n_blocks].owner, (int32_t)0xabababab, "past n_blocks nothing is copied");
}

static bool on_2_stages(const struct runner_state *s) { return s->par.n_devices == 2 && s->par.pp == 2 && s->n_seg > 0; }

/* tp / pp / micro_batches mid-run: the device group is rebuilt (a new epoch
 * on 2 pipeline devices, segments published); a split the model cannot take
 * is refused before anything stops (the group keeps running as it was, no
 * graph marker is set), and
 * runner_check_option says so beforehand, as the TUI's keys ask. */
Test(runner, device_group_options_rebuild_the_group_or_are_refused)
{
    char line[200], err[256];
    struct runner_state *st = state_when(stepped);
    cr_assert_eq(runner_check_option(g_r, &st->opt, OPT_PP, "2", err, sizeof err), 0, "%s", err);
    cr_assert_eq(runner_check_option(g_r, &st->opt, OPT_TP, "3", err, sizeof err), -1);
    cr_assert(strstr(err, "tp=3: tiny has 4 heads in 2 KV groups"), "%s", err);
    cr_assert_eq(runner_check_option(g_r, &st->opt, OPT_PP, "9", err, sizeof err), -1);
    cr_assert(strstr(err, "pp=9: tiny has 4 layers"), "%s", err);
    cr_assert(runner_set_option(g_r, OPT_PP, "2"));
    cr_assert(wait_log("pp=2 rebuilt the device group in", line));
    st = state_when(on_2_stages);
    cr_assert(on_2_stages(st), "the new epoch runs on 2 pipeline devices");
    uint64_t epoch = st->epoch, config_step = st->config_step;
    cr_assert_gt(epoch, 0);
    cr_assert(runner_set_option(g_r, OPT_TP, "3"));
    cr_assert(wait_log("error: tp=3 not applied: tp=3: tiny has 4 heads", line), "%s", line);
    sleep_ms(50);
    struct runner_state now;
    runner_latest(g_r, &now);
    cr_assert_eq(opt_i(&now.opt, OPT_TP), 1, "the refused value is not kept");
    cr_assert_eq(now.epoch, epoch, "and nothing restarted");
    cr_assert_eq(now.config_step, config_step, "nor set a graph marker (config_step %llu, was %llu)",
                 (unsigned long long)now.config_step, (unsigned long long)config_step);
    cr_assert_eq(now.par.n_devices, 2);
}

/* The table's class and the engine agree: engine_apply_live applies exactly
 * the options of class live (a live option it could not apply would restart
 * the scenario after all; a rebuild option it applied would skip new caches). */
Test(engine_live, applies_exactly_the_live_class)
{
    char err[256];
    struct model m;
    struct scenario sc;
    struct workload w;
    struct options o;
    struct engine e;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 5, 1, err, sizeof err), 0);
    struct backend *be = cpu_backend_create(1, CPU_SIMD_AVX512);
    options_defaults(&o);
    cr_assert_eq(scenario_parse_buffer("runner.ini", SCENARIO, strlen(SCENARIO), &sc, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(&e, &o, &m, be, &w, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < OPT_COUNT; i++) {
        const struct option_def *d = option_def((enum opt_id)i);
        bool applied = engine_apply_live(&e, (enum opt_id)i, opt_f(&e.opt, OPT_RATE_SCALE));
        cr_assert_eq(applied, d->cls == OC_LIVE, "%s: class %s but engine_apply_live %s it", d->name,
                     opt_class_name(d->cls), applied ? "applies" : "does not apply");
    }
    engine_free(&e);
    workload_free(&w);
    backend_destroy(be);
    model_free(&m);
}
