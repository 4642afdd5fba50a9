/* Replay source: a recording written here (300 steps 10 ms apart, three
 * requests, an option change, KV snapshots) played back: the clock, single
 * step, seeks and speed give the right step index and state; KV snapshots
 * round-trip through the file; a version-1 file without snapshots still
 * plays (map "not recorded"); a damaged file plays up to the damage. */
#include "traces/recorder.h"
#include "tui/replay_source.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_STEPS 300
#define STEP_NS 10000000LL      /* 10 ms apart */
#define OPT_T_NS 1505000000LL   /* between step 150 (1.50 s) and 151 (1.51 s) */

static char g_path[64];

static void add_ev(struct trace_run *r, enum trace_event_kind k, int64_t t, int req)
{
    struct trace_event *e = trace_run_add_event(r);
    cr_assert_not_null(e);
    e->kind = k; e->t_ns = t; e->req = req;
    if (k == TEV_ARRIVE) { e->prompt_len = 20 + req; e->max_output = 400; }
}

/* The KV map after step s: request 0 holds blocks 0..3 (block 3 partly
 * filled), request 1 blocks 4..5 from step 100 on, block 6 cached, 7 free. */
static void fill_blocks(struct trace_kv *k, int s)
{
    for (int b = 0; b < 8; b++) k->blocks[b] = (struct kv_block_info){-1, 0, 0, KVB_FREE, false};
    for (int b = 0; b < 4; b++) k->blocks[b] = (struct kv_block_info){0, b == 3 ? 5 : 16, 1, KVB_OWNED, b < 3};
    if (s >= 100)
        for (int b = 4; b < 6; b++) k->blocks[b] = (struct kv_block_info){1, 16, b == 4 ? 2 : 1,
                                                                          b == 4 ? KVB_SHARED : KVB_OWNED, false};
    k->blocks[6] = (struct kv_block_info){-1, 16, 0, KVB_CACHED, true};
}

/* Request 0 from t=0 (prefill in step 0, decodes every step), request 1 from
 * step 100 (prefill in step 100, decodes from 101), request 2 arrives at
 * 2.0 s and is preempted once; request 0 finishes at 2.5 s. */
static void make_run(struct trace_run *r)
{
    trace_run_init(r);
    snprintf(r->h.model, sizeof r->h.model, "synth:tiny");
    snprintf(r->h.scenario, sizeof r->h.scenario, "unit");
    snprintf(r->h.device, sizeof r->h.device, "cpu");
    snprintf(r->h.options, sizeof r->h.options, "attn=flash kv=paged block=16");
    r->h.n_requests = 3; r->h.n_layers = 2;
    for (int s = 0; s < N_STEPS; s++) {
        struct trace_step *st = trace_run_add_step(r);
        cr_assert_not_null(st);
        st->rec.index = (uint64_t)s;
        st->t_ns = s * STEP_NS;
        st->dur_ns = STEP_NS / 2;
        st->items = calloc(3, sizeof *st->items);
        cr_assert_not_null(st->items);
        if (s < 250) st->items[st->n_items++] = (struct trace_item){0, s ? 19 + s : 0, s ? 1 : 20, s > 0};
        if (s >= 100) st->items[st->n_items++] = (struct trace_item){1, s > 100 ? 20 + s - 100 : 0, s > 100 ? 1 : 21, s > 100};
        st->rec.decode_tokens = (s > 0 && s < 250) + (s > 100);
        /* version 3: every item here samples, committing one token (ids 1000 + step) */
        st->commits = calloc(3, sizeof *st->commits);
        st->commit_tokens = calloc(3, sizeof *st->commit_tokens);
        cr_assert(st->commits && st->commit_tokens);
        for (int k = 0; k < st->n_items; k++) {
            st->commits[st->n_commits++] = (struct trace_commit){st->items[k].req, 1, st->n_commit_tokens};
            st->commit_tokens[st->n_commit_tokens++] = 1000 + s;
        }
        st->rec.running = 1 + (s >= 100);
        st->rec.kv.used_tokens = 100 + s;
        st->rec.kv.n_blocks = 8;
        if (s % 25 == 0) {
            struct trace_kv *k = trace_run_add_kv(r, 8);
            cr_assert_not_null(k);
            k->t_ns = st->t_ns + st->dur_ns; k->after_step = s + 1; k->kind = KV_PAGED; k->block_size = 16;
            fill_blocks(k, s);
        }
    }
    add_ev(r, TEV_ARRIVE, 0, 0);
    add_ev(r, TEV_ADMIT, 0, 0);
    add_ev(r, TEV_FIRST_TOKEN, 4000000, 0);
    add_ev(r, TEV_ARRIVE, 100 * STEP_NS, 1);
    add_ev(r, TEV_ADMIT, 100 * STEP_NS, 1);
    add_ev(r, TEV_FIRST_TOKEN, 100 * STEP_NS + 4000000, 1);
    add_ev(r, TEV_ARRIVE, 2000000000LL, 2);
    add_ev(r, TEV_ADMIT, 2000000000LL, 2);
    add_ev(r, TEV_PREEMPT, 2100000000LL, 2);
    add_ev(r, TEV_FINISH, 2500000000LL, 0);
    struct trace_event *o = trace_run_add_event(r);
    o->kind = TEV_OPTION; o->t_ns = OPT_T_NS;
    snprintf(o->name, sizeof o->name, "attn");
    snprintf(o->value, sizeof o->value, "naive");
}

static void write_recording(void)
{
    struct trace_run r;
    struct recorder w;
    char err[512];
    snprintf(g_path, sizeof g_path, "/tmp/infertop-replay-%d.jsonl", (int)getpid());
    make_run(&r);
    cr_assert_eq(recorder_open(&w, g_path, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(recorder_close(&w, &r, err, sizeof err), 0, "%s", err);
    trace_run_free(&r);
}

static void cleanup(void) { remove(g_path); }

TestSuite(replay, .init = write_recording, .fini = cleanup);

static void open_ok(struct replay *p, const char *path)
{
    char err[512];
    cr_assert_eq(replay_open(p, path, err, sizeof err), 0, "%s", err);
}

Test(replay, clock_step_seek_speed)
{
    struct replay p;
    open_ok(&p, g_path);
    cr_assert_str_empty(p.damage);
    cr_assert_eq(p.run.n_steps, N_STEPS);
    cr_assert_eq(p.pos, 0);
    replay_advance(&p, 0.5);                       /* t = 0.5 s: steps 0..50 started */
    cr_assert_eq(p.pos, 51, "pos %d", p.pos);
    replay_change_speed(&p, 1);                    /* x2: 0.25 s wall = 0.5 s recorded */
    cr_assert_float_eq(p.speed, 2.0, 1e-12);
    replay_advance(&p, 0.25);
    cr_assert_eq(p.pos, 101, "pos %d", p.pos);
    replay_step(&p);
    cr_assert(p.paused);
    cr_assert_eq(p.pos, 102);
    replay_advance(&p, 1.0);                       /* paused: nothing moves */
    cr_assert_eq(p.pos, 102);
    replay_step(&p);
    cr_assert_eq(p.pos, 103);
    cr_assert(p.t_ns >= p.run.steps[102].t_ns && p.t_ns < p.run.steps[103].t_ns);
    replay_seek_steps(&p, REPLAY_SEEK_STEPS);
    cr_assert_eq(p.pos, 203);
    replay_seek_steps(&p, -1000);
    cr_assert_eq(p.pos, 0);
    cr_assert_eq(p.t_ns, 0);
    replay_seek_time(&p, 1.0);
    cr_assert_eq(p.pos, 101);
    replay_seek_time(&p, REPLAY_SEEK_S);           /* past the end: clamped */
    cr_assert_eq(p.pos, N_STEPS);
    cr_assert_eq(p.t_ns, p.end_ns);
    replay_seek_start(&p);
    cr_assert_eq(p.pos, 0);
    replay_seek_end(&p);
    cr_assert_eq(p.pos, N_STEPS);
    for (int i = 0; i < 10; i++) replay_change_speed(&p, 1);
    cr_assert_float_eq(p.speed, REPLAY_SPEED_MAX, 1e-12);
    for (int i = 0; i < 10; i++) replay_change_speed(&p, -1);
    cr_assert_float_eq(p.speed, REPLAY_SPEED_MIN, 1e-12);
    replay_seek_start(&p);
    p.paused = false;
    replay_advance(&p, 100.0);                     /* plays to the end and stops there */
    cr_assert(p.paused);
    cr_assert_eq(p.pos, N_STEPS);
    replay_toggle_pause(&p);                       /* play at the end: from the start again */
    cr_assert_eq(p.pos, 0);
    cr_assert_not(p.paused);
    replay_free(&p);
}

static const struct runner_req_row *row_of(const struct runner_state *st, int id)
{
    for (int i = 0; i < st->n_reqs; i++)
        if (st->reqs[i].id == id) return &st->reqs[i];
    return NULL;
}

Test(replay, state_at_the_clock)
{
    struct replay p;
    struct runner_state *st = calloc(1, sizeof *st);
    cr_assert_not_null(st);
    open_ok(&p, g_path);
    replay_seek_steps(&p, 51);                     /* steps 0..50 played */
    replay_state(&p, st);
    cr_assert_eq(st->steps, 51);
    cr_assert_str_eq(opt_s(&st->opt, OPT_ATTN), "flash");
    cr_assert_eq(st->n_reqs, 1);
    const struct runner_req_row *r0 = row_of(st, 0);
    cr_assert_not_null(r0);
    cr_assert_eq(r0->state, REQ_RUNNING);
    cr_assert_eq(r0->prompt_len, 20);
    cr_assert_eq(r0->max_output, 400);
    cr_assert_eq(r0->generated, 1 + 50, "generated %d", r0->generated);   /* first token + 50 decodes */
    cr_assert_eq(r0->used, 20 + 50);
    cr_assert_eq(r0->blocks, 4);                   /* snapshot after step 50 */
    cr_assert_float_eq(r0->ttft_ms, 4.0, 1e-9);
    cr_assert_eq(st->kv.used_tokens, 100 + 50);
    cr_assert_eq(st->n_blocks, 8);
    cr_assert_eq(st->blocks[3].fill, 5);

    replay_seek_steps(&p, 150 - 51 + 1);           /* 152 steps: the option change (step 151) applied */
    replay_state(&p, st);
    cr_assert_str_eq(opt_s(&st->opt, OPT_ATTN), "naive");
    cr_assert_eq(st->config_step, 151);
    cr_assert_eq(st->n_reqs, 2);
    cr_assert_eq(row_of(st, 1)->blocks, 2);
    cr_assert_eq(st->blocks[4].state, KVB_SHARED);

    replay_seek_time(&p, 2.15 - p.t_ns / 1e9);     /* request 2 arrived, admitted, preempted */
    replay_state(&p, st);
    const struct runner_req_row *r2 = row_of(st, 2);
    cr_assert_not_null(r2);
    cr_assert_eq(r2->state, REQ_WAITING);
    cr_assert_eq(r2->preempted, 1);
    cr_assert_eq(st->preemptions, 1);
    cr_assert_lt(r2->ttft_ms, 0);

    replay_seek_end(&p);                           /* request 0 finished: not in the table */
    replay_state(&p, st);
    cr_assert_null(row_of(st, 0));
    cr_assert_eq(st->requests_finished, 1);
    cr_assert_eq(st->requests_total, 3);
    replay_seek_start(&p);                         /* back to the start: nothing yet */
    replay_state(&p, st);
    cr_assert_eq(st->n_reqs, 1);                   /* request 0 arrived at t = 0 */
    cr_assert_str_eq(opt_s(&st->opt, OPT_ATTN), "flash");
    replay_free(&p);
    free(st);
}

Test(replay, collect_feeds_history_and_markers)
{
    struct replay p;
    struct tui_data d;
    open_ok(&p, g_path);
    cr_assert_eq(data_init(&d), 0);
    p.paused = true;
    replay_collect(&d, &p, 100.0);
    cr_assert(d.replay.on);
    cr_assert_eq(d.replay.total, N_STEPS);
    replay_seek_steps(&p, 200);
    replay_collect(&d, &p, 100.1);
    cr_assert_eq(data_n_steps(&d), 200);
    cr_assert_eq(data_step_back(&d, 0)->index, 199);
    uint64_t m;
    cr_assert(data_last_marker(&d, &m));
    cr_assert_eq(m, 151);
    bool logged = false;
    for (int k = 0; k < 10 && data_log_back(&d, k); k++) logged |= strstr(data_log_back(&d, k), "attn=naive applied at step 151") != NULL;
    cr_assert(logged, "the option change crossed goes to the log");
    cr_assert_str_empty(d.kv_note);
    replay_seek_steps(&p, -150);                   /* before the option: no marker */
    replay_collect(&d, &p, 100.2);
    cr_assert_not(data_last_marker(&d, &m));
    data_free(&d);
    replay_free(&p);
}

/* Bytes of the recording file. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*len + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

Test(replay, kv_snapshots_round_trip)
{
    struct trace_run want, got;
    char err[512];
    make_run(&want);
    cr_assert_eq(recorder_read(g_path, &got, err, sizeof err), 0, "%s", err);
    cr_assert_eq(got.h.version, TRACE_FORMAT_VERSION);
    cr_assert_eq(got.n_kvs, want.n_kvs);
    for (int i = 0; i < want.n_kvs; i++) {
        const struct trace_kv *a = &want.kvs[i], *b = &got.kvs[i];
        cr_assert_eq(a->t_ns, b->t_ns);
        cr_assert_eq(a->after_step, b->after_step);
        cr_assert_eq(a->block_size, b->block_size);
        cr_assert_eq(a->n_blocks, b->n_blocks);
        for (int k = 0; k < a->n_blocks; k++) {
            const struct kv_block_info *x = &a->blocks[k], *y = &b->blocks[k];
            cr_assert(x->owner == y->owner && x->fill == y->fill && x->refs == y->refs && x->state == y->state &&
                      x->in_prefix_cache == y->in_prefix_cache, "snapshot %d block %d", i, k);
        }
    }
    for (int i = 0; i < want.n_ev; i++)
        cr_assert(got.ev[i].prompt_len == want.ev[i].prompt_len && got.ev[i].max_output == want.ev[i].max_output);
    trace_run_free(&want);
    trace_run_free(&got);
}

/* Remove `,"key":value` from line (value: a number, string or bracketed array). */
static void strip_field(char *line, const char *key)
{
    char pat[40];
    snprintf(pat, sizeof pat, ",\"%s\":", key);
    char *p = strstr(line, pat);
    if (!p) return;
    char *e = p + strlen(pat);
    if (*e == '[') {
        for (int depth = 0; *e; e++) {
            depth += (*e == '[') - (*e == ']');
            if (depth == 0) { e++; break; }
        }
    } else {
        e += strcspn(e, ",}");
    }
    memmove(p, e, strlen(e) + 1);
}

/* A version-1 file from this (current version, single device) one: no kv lines, no commits, events
 * without progress fields, arrive events without sizes, no kvs count. */
static size_t to_version1(char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char *nl = memchr(buf + i, '\n', len - i);
        size_t n = (size_t)(nl - (buf + i)) + 1;
        char line[65536];
        cr_assert_lt(n, sizeof line);
        memcpy(line, buf + i, n);
        line[n] = 0;
        i += n;
        if (strstr(line, "\"type\":\"kv\"")) continue;
        char *v = strstr(line, "\"version\":");
        if (v) v[10] = '1';
        const char *v3_fields[] = {"commits", "generated", "cached", "dropped", "hash"};
        for (size_t f = 0; f < sizeof v3_fields / sizeof v3_fields[0]; f++) strip_field(line, v3_fields[f]);
        char *p = strstr(line, ",\"prompt\":");
        if (p) { char *e = strchr(p, '}'); memmove(p, e, strlen(e) + 1); }
        char *k = strstr(line, ",\"kvs\":");
        if (k) { char *e = strchr(k, '}'); memmove(k, e, strlen(e) + 1); }
        n = strlen(line);
        memcpy(buf + o, line, n);
        o += n;
    }
    return o;
}

Test(replay, version1_recording_plays_without_block_map)
{
    size_t len;
    char *buf = slurp(g_path, &len), path[80];
    len = to_version1(buf, len);
    snprintf(path, sizeof path, "%s.v1", g_path);
    spit(path, buf, len);
    struct replay p;
    struct tui_data d;
    open_ok(&p, path);
    cr_assert_str_empty(p.damage, "%s", p.damage);
    cr_assert_eq(p.run.h.version, 1);
    cr_assert_eq(p.run.n_kvs, 0);
    cr_assert_eq(p.run.n_steps, N_STEPS);
    cr_assert_eq(data_init(&d), 0);
    p.paused = true;
    replay_seek_steps(&p, 60);
    replay_collect(&d, &p, 1.0);
    cr_assert_str_eq(d.kv_note, "block map not recorded");
    cr_assert_eq(d.st->n_blocks, 0);
    cr_assert_eq(d.st->kv.used_tokens, 100 + 59);  /* the totals still show */
    cr_assert_eq(d.st->n_reqs, 1);
    cr_assert_eq(d.st->block_size, 16, "block size from the header's block=16 (not its choice index)");
    data_free(&d);
    replay_free(&p);
    remove(path);
    free(buf);
}

/* Without KV snapshots the block size is the header's block option, as its number. */
Test(replay, block_size_from_the_header_option)
{
    size_t len;
    char *buf = slurp(g_path, &len), path[80];
    len = to_version1(buf, len);
    char *at = strstr(buf, "\"block\":\"16\"");
    cr_assert_not_null(at, "the header holds block=16");
    memcpy(at, "\"block\":\"32\"", 12);
    snprintf(path, sizeof path, "%s.b32", g_path);
    spit(path, buf, len);
    struct replay p;
    struct tui_data d;
    open_ok(&p, path);
    cr_assert_eq(data_init(&d), 0);
    p.paused = true;
    replay_seek_steps(&p, 10);
    replay_collect(&d, &p, 1.0);
    cr_assert_eq(d.st->block_size, 32);
    cr_assert_eq(d.st->kv_kind, KV_PAGED);
    data_free(&d);
    replay_free(&p);
    remove(path);
    free(buf);
}

Test(replay, damaged_file_plays_to_the_damage)
{
    size_t len;
    char *buf = slurp(g_path, &len), path[80];
    snprintf(path, sizeof path, "%s.cut", g_path);
    spit(path, buf, len / 2 + 7);                  /* cut mid-line */
    struct replay p;
    open_ok(&p, path);
    cr_assert_str_neq(p.damage, "");
    cr_assert(strstr(p.damage, ".cut:") != NULL, "%s", p.damage);
    cr_assert_gt(p.run.n_steps, 0);
    cr_assert_lt(p.run.n_steps, N_STEPS);
    replay_seek_end(&p);
    cr_assert_eq(p.pos, p.run.n_steps);
    struct tui_data d;
    cr_assert_eq(data_init(&d), 0);
    replay_collect(&d, &p, 1.0);
    cr_assert(strstr(p.damage, d.replay.damage) != NULL && strstr(d.replay.damage, ".cut:"),
              "the header names the file by its base name: %s", d.replay.damage);
    bool logged = false;
    for (int k = 0; k < 10 && data_log_back(&d, k); k++) logged |= strstr(data_log_back(&d, k), "damaged") != NULL;
    cr_assert(logged);
    data_free(&d);
    replay_free(&p);

    /* a kv line whose runs do not cover its blocks: damage at that line */
    char *kv = strstr(buf, "\"type\":\"kv\"");
    cr_assert_not_null(kv);
    char *blocks = strstr(kv, "\"blocks\":8");
    cr_assert_not_null(blocks);
    blocks[9] = '9';
    spit(path, buf, len);
    char err[512];
    struct trace_run r;
    cr_assert_eq(recorder_read(path, &r, err, sizeof err), 1);
    cr_assert(strstr(err, "runs: expected counts adding up to blocks (9)") != NULL, "%s", err);
    trace_run_free(&r);
    remove(path);
    free(buf);
}

/* Recordings written by earlier versions still replay to the end: v1 (the
 * fuzz corpus' one-request run), v2 (bench --record of smoke, 2 requests, by
 * the v2 writer) and the same run recorded as v3; v2 and v3 agree on the
 * output tokens (v2 counts decode items + first tokens, v3 the commits). */
static long replay_to_end(const char *path, int version, int *finished, int *total)
{
    struct replay p;
    struct runner_state *st = calloc(1, sizeof *st);
    cr_assert_not_null(st);
    open_ok(&p, path);
    cr_assert_str_empty(p.damage, "%s: %s", path, p.damage);
    cr_assert_eq(p.run.h.version, version, "%s", path);
    long want = 0;
    for (int i = 0; i < p.run.n_ev; i++)
        if (p.run.ev[i].kind == TEV_ARRIVE) want += p.run.ev[i].max_output;
    replay_seek_end(&p);
    replay_state(&p, st);
    *finished = st->requests_finished;
    *total = st->requests_total;
    long out = st->tokens_out;
    if (version >= 2) cr_assert_eq(out, want, "%s: %ld tokens replayed, %ld asked", path, out, want);
    replay_free(&p);
    free(st);
    return out;
}

Test(replay, recordings_of_every_version_replay)
{
    int fin, total;
    cr_assert_gt(replay_to_end("tests/fuzz/corpus_recording/one_request.jsonl", 1, &fin, &total), 0);
    cr_assert_eq(fin, 1);
    long v2 = replay_to_end("tests/fixtures/recording_v2_smoke2.jsonl", 2, &fin, &total);
    cr_assert(fin == 2 && total == 2);
    long v3 = replay_to_end("tests/fuzz/corpus_recording/v3_smoke2.jsonl", 3, &fin, &total);
    cr_assert(fin == 2 && total == 2);
    cr_assert_eq(v2, v3);
    long v5 = replay_to_end("tests/fuzz/corpus_recording/v5_parallel.jsonl", 5, &fin, &total);
    cr_assert(v5 > 0 && fin == 2 && total == 2);
}

/* A version 5 recording of tp=2 pp=2 micro_batches=2 (bench --record of
 * 2 requests): every played step shows the group's Gantt as live did — 4
 * devices, each with compute segments of both micro-batches, idle (the
 * bubble) on the second stage, send on stage 0 and recv on stage 1 — and a
 * recording without segments (v3, one device) shows none. */
Test(replay, version5_recording_shows_the_pipeline_per_device)
{
    struct replay p;
    struct runner_state *st = calloc(1, sizeof *st);
    cr_assert_not_null(st);
    open_ok(&p, "tests/fuzz/corpus_recording/v5_parallel.jsonl");
    cr_assert_eq(p.run.h.par.n_devices, 4);
    replay_state(&p, st);
    cr_assert_eq(st->par.n_devices, 4, "before the first step: the run info");
    cr_assert_eq(st->n_seg, 0);
    for (int s = 1; s <= p.run.n_steps; s++) {
        replay_seek_start(&p);
        replay_seek_steps(&p, s);
        replay_state(&p, st);
        const struct trace_par *tp = p.run.steps[s - 1].par;
        cr_assert_not_null(tp, "step %d has its segments", s);
        cr_assert(st->par.tp == 2 && st->par.pp == 2 && st->par.micro_batches == 2);
        cr_assert_eq(st->n_seg, tp->n_segs);
        cr_assert_eq(st->par.bubble, tp->tel.bubble);
        int count[4][SEG_COUNT] = {{0}}, mbs[4] = {0};
        for (int i = 0; i < st->n_seg; i++) {
            const struct tel_segment *g = &st->seg[i];
            cr_assert(g->device >= 0 && g->device < 4);
            cr_assert_eq(g->stage, g->device / 2);
            count[g->device][g->kind]++;
            if (g->kind == SEG_COMPUTE) mbs[g->device] |= 1 << g->mb;
        }
        int want_mb = tp->tel.mb_used == 2 ? 3 : 1;
        for (int d = 0; d < 4; d++) {
            cr_assert_eq(mbs[d], want_mb, "step %d device %d: compute of every micro-batch", s, d);
            cr_assert_gt(count[d][d < 2 ? SEG_SEND : SEG_RECV], 0, "step %d device %d", s, d);
        }
        cr_assert_gt(count[2][SEG_IDLE] + count[3][SEG_IDLE], 0, "stage 1 waits: the bubble");
    }
    replay_free(&p);
    open_ok(&p, "tests/fuzz/corpus_recording/v3_smoke2.jsonl");
    replay_seek_end(&p);
    replay_state(&p, st);
    cr_assert_eq(st->par.n_devices, 0);
    cr_assert_eq(st->n_seg, 0);
    replay_free(&p);
    free(st);
}
