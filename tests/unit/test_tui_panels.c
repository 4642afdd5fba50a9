/* The TUI panels rendered off-screen from canned snapshots: ncurses runs on
 * /dev/null (newterm), each panel draws into a window that is read back with
 * mvwinnstr and checked (ASCII glyphs, no colors, so cells are plain chars).
 * Also the pure parts: KV map cells, key table cycling, graph markers. */
#include "tui/graph.h"
#include "tui/kvmap.h"
#include "tui/panel.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static SCREEN *g_screen;
static FILE *g_out, *g_in;
static struct tui_data D;
static struct ui_state UI;

static void screen_up(void)
{
    g_out = fopen("/dev/null", "w");
    g_in = fopen("/dev/null", "r");
    cr_assert(g_out && g_in);
    g_screen = newterm("xterm", g_out, g_in);
    cr_assert(g_screen, "newterm(xterm) failed: terminfo missing?");
    theme_init(true, true);
    cr_assert_eq(data_init(&D), 0);
    memset(&UI, 0, sizeof UI);
    UI.focus = -1;
}

static void screen_down(void)
{
    data_free(&D);
    endwin();
    delscreen(g_screen);
    fclose(g_out);
    fclose(g_in);
}

/* Row y of a window as text. */
static const char *row(WINDOW *w, int y)
{
    static char buf[512];
    int n = mvwinnstr(w, y, 0, buf, (int)sizeof buf - 1);
    if (n < 0) n = 0;
    buf[n] = 0;
    return buf;
}

/* Whether any row of w contains s. */
static bool has(WINDOW *w, const char *s)
{
    int h, wd;
    getmaxyx(w, h, wd);
    (void)wd;
    for (int y = 0; y < h; y++)
        if (strstr(row(w, y), s)) return true;
    return false;
}

/* Pool of 8 paged blocks of 16 tokens: req 3 holds blocks 0,1 (full) and 2
 * (5 tokens); block 3 is shared by reqs 3 and 4; block 4 cached; 5..7 free. */
static void canned_kv(struct runner_state *st)
{
    st->kv_kind = KV_PAGED;
    st->block_size = 16;
    st->n_blocks = st->n_blocks_total = 8;
    for (int b = 0; b < 8; b++) st->blocks[b] = (struct kv_block_info){.owner = -1, .state = KVB_FREE};
    st->blocks[0] = (struct kv_block_info){.owner = 3, .fill = 16, .refs = 1, .state = KVB_OWNED};
    st->blocks[1] = (struct kv_block_info){.owner = 3, .fill = 16, .refs = 1, .state = KVB_OWNED};
    st->blocks[2] = (struct kv_block_info){.owner = 3, .fill = 5, .refs = 1, .state = KVB_OWNED};
    st->blocks[3] = (struct kv_block_info){.owner = 3, .fill = 16, .refs = 2, .state = KVB_SHARED};
    st->blocks[4] = (struct kv_block_info){.owner = -1, .fill = 16, .refs = 0, .state = KVB_CACHED};
    struct kvcache_totals *t = &st->kv;
    t->pool_tokens = 128; t->used_tokens = 53; t->allocated_tokens = 64; t->free_tokens = 64;
    t->internal_frag_tokens = 11; t->reserved_empty_tokens = 0; t->external_frag_tokens = 16;
    t->utilization = 53.0 / 128; t->prefix_query_tokens = 40; t->prefix_hit_tokens = 10;
    st->preemptions = 2;
}

static void canned_state(struct runner_state *st)
{
    memset(st, 0, sizeof *st);
    options_defaults(&st->opt);
    canned_kv(st);
    st->elapsed_s = 10;
    st->steps = 100;
    st->running = 2; st->waiting = 1; st->requests_total = 9; st->requests_finished = 4;
    st->n_reqs = 3;
    st->reqs[0] = (struct runner_req_row){.id = 7, .state = REQ_RUNNING, .prompt_len = 39, .generated = 12,
                                          .max_output = 40, .blocks = 4, .ttft_ms = 81, .tok_s = 21.5};
    st->reqs[1] = (struct runner_req_row){.id = 3, .state = REQ_RUNNING, .prompt_len = 120, .generated = 3,
                                          .max_output = 64, .blocks = 9, .ttft_ms = 250, .tok_s = 9.0};
    st->reqs[2] = (struct runner_req_row){.id = 11, .state = REQ_WAITING, .prompt_len = 7, .max_output = 8,
                                          .ttft_ms = -1};
    st->ttft_p50_ms = 123; st->ttft_p99_ms = 456; st->tpot_p50_ms = 7.5; st->tpot_p99_ms = 9.25;
}

/* ---- KV map: pure cells ---- */

Test(kvmap, one_block_per_cell)
{
    static struct runner_state st;
    canned_kv(&st);
    int per = kvmap_blocks_per_cell(8, 100);
    cr_assert_eq(per, 1);
    enum kv_cell_kind want[8] = {KC_FULL, KC_FULL, KC_PARTIAL, KC_SHARED, KC_CACHED, KC_FREE, KC_FREE, KC_FREE};
    for (int i = 0; i < 8; i++) {
        struct kv_cell c = kvmap_cell(st.blocks, 8, 16, 1, i);
        cr_assert_eq(c.kind, want[i], "cell %d: %d, want %d", i, c.kind, want[i]);
        cr_assert_eq(c.owner, i < 4 ? 3 : -1);
    }
}

Test(kvmap, several_blocks_per_cell)
{
    static struct runner_state st;
    canned_kv(&st);
    cr_assert_eq(kvmap_blocks_per_cell(8, 3), 3);
    cr_assert_eq(kvmap_cell(st.blocks, 8, 16, 3, 0).kind, KC_FULL);     /* full, full, 5/16: mostly full */
    cr_assert_eq(kvmap_cell(st.blocks, 8, 16, 4, 0).kind, KC_SHARED);
    st.blocks[1].fill = 3;
    cr_assert_eq(kvmap_cell(st.blocks, 8, 16, 3, 0).kind, KC_PARTIAL);  /* full, 3/16, 5/16 */
    cr_assert_eq(kvmap_cell(st.blocks, 8, 16, 3, 1).kind, KC_SHARED);   /* shared, cached, free */
    cr_assert_eq(kvmap_cell(st.blocks, 8, 16, 3, 2).kind, KC_FREE);     /* free, free (last cell short) */
    cr_assert_eq(kvmap_cell(st.blocks, 8, 16, 2, 0).kind, KC_PARTIAL);  /* full, 3/16 */
}

Test(kvmap, contiguous_reserved_but_empty)
{
    struct kv_block_info b[4] = {
        {.owner = 5, .fill = 16, .refs = 1, .state = KVB_OWNED},
        {.owner = 5, .fill = 0, .refs = 1, .state = KVB_OWNED},
        {.owner = 5, .fill = 0, .refs = 1, .state = KVB_OWNED},
        {.owner = -1, .state = KVB_FREE},
    };
    cr_assert_eq(kvmap_cell(b, 4, 16, 1, 0).kind, KC_FULL);
    cr_assert_eq(kvmap_cell(b, 4, 16, 1, 1).kind, KC_RESERVED);
    cr_assert_eq(kvmap_cell(b, 4, 16, 1, 1).owner, 5);
    cr_assert_eq(kvmap_cell(b, 4, 16, 2, 1).kind, KC_RESERVED);
    cr_assert_eq(kvmap_cell(b, 4, 16, 2, 0).kind, KC_PARTIAL);   /* one full, one empty */
    cr_assert_eq(kvmap_cell(b, 4, 16, 3, 0).kind, KC_RESERVED);  /* one full, two empty */
}

/* ---- panels on screen ---- */

Test(panels, kv_map_cells_and_numbers, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    data_set_state(&D, D.st);
    WINDOW *w = newwin(14, 70, 0, 0);
    panel_kv_draw(w, &D, &UI);
    /* map row 1 from column 1: ## full, o partial, S shared, c cached, ... free */
    cr_assert(strncmp(row(w, 1) + 1, "##oSc...", 8) == 0, "map row: '%s'", row(w, 1));
    cr_assert(has(w, "util       41.4%"), "utilization 53/128");
    cr_assert(has(w, "int frag   17.2%"), "internal fragmentation 11/64");
    cr_assert(has(w, "ext frag   25.0%"), "external fragmentation 16/64");
    cr_assert(has(w, "rsv-empty  0.0%"));
    cr_assert(has(w, "preempt    2"));
    cr_assert(has(w, "prefix hit 25% of 40"), "prefix hits 10/40");
    cr_assert(has(w, "KV cache paged, 8 blk, 1 cell = 1 block"));
    delwin(w);
}

Test(panels, kv_map_ratio_when_pool_is_larger, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    D.st->n_blocks = D.st->n_blocks_total = 1000;
    for (int b = 8; b < 1000; b++) D.st->blocks[b] = (struct kv_block_info){.owner = -1, .state = KVB_FREE};
    data_set_state(&D, D.st);
    WINDOW *w = newwin(8, 60, 0, 0);   /* map: 6 rows (one is the legend) x 37 columns */
    panel_kv_draw(w, &D, &UI);
    int per = kvmap_blocks_per_cell(1000, 5 * (60 - 2 - 21 - 1));
    char title[64];
    snprintf(title, sizeof title, "1 cell = %d blocks", per);
    cr_assert(per > 1 && has(w, title), "title shows the ratio %d", per);
    delwin(w);
}

Test(panels, requests_rows_sorted_and_scrolled, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    data_set_state(&D, D.st);
    WINDOW *w = newwin(10, 70, 0, 0);
    panel_reqs_draw(w, &D, &UI);
    cr_assert(strstr(row(w, 2), "    3 run      120     3/64         9     250     9.0"), "row: '%s'", row(w, 2));
    cr_assert(strstr(row(w, 3), "    7 run       39    12/40         4      81    21.5"), "row: '%s'", row(w, 3));
    cr_assert(strstr(row(w, 4), "   11 wait       7     0/8          0       -     0.0"), "row: '%s'", row(w, 4));
    UI.sort = SORT_PROMPT;
    UI.sort_desc = true;
    panel_reqs_draw(w, &D, &UI);
    cr_assert(strstr(row(w, 2), "    3 run"));
    cr_assert(strstr(row(w, 4), "   11 wait"));
    cr_assert(has(w, "by prompt desc"));
    WINDOW *small = newwin(5, 70, 0, 0);     /* two rows of data */
    UI.reqs_scroll = 99;                     /* clamped to the last page */
    panel_reqs_draw(small, &D, &UI);
    cr_assert_eq(UI.reqs_scroll, 1);
    cr_assert(strstr(row(small, 2), "    7 run"), "scrolled: '%s'", row(small, 2));
    delwin(small);
    delwin(w);
}

Test(panels, header_shows_identity_state_and_options, .init = screen_up, .fini = screen_down)
{
    snprintf(D.info.model_name, sizeof D.info.model_name, "smollm2-135m");
    D.info.params = 134.5e6;
    snprintf(D.info.wformat, sizeof D.info.wformat, "f32");
    snprintf(D.info.device_reason, sizeof D.info.device_reason, "cpu - no CUDA driver");
    snprintf(D.info.scenario, sizeof D.info.scenario, "chat");
    canned_state(D.st);
    data_set_state(&D, D.st);
    char err[128];
    cr_assert_eq(options_set(&D.st->opt, "attn", "naive", err, sizeof err), 0);
    D.st->paused = true;
    data_set_state(&D, D.st);
    cr_assert_eq(options_set(&D.st->opt, "max_seq", "512", err, sizeof err), 0);
    data_set_state(&D, D.st);
    cr_assert_eq(panel_header_rows(&D, 80, 24), 3, "3 rows at 80x24");
    int rows = panel_header_rows(&D, 100, 40);
    cr_assert(rows >= 3 && rows <= 4, "header rows %d", rows);
    WINDOW *w = newwin(rows, 100, 0, 0);
    panel_header_draw(w, &D, &UI);
    cr_assert(has(w, "smollm2-135m 134.5M params f32"));
    cr_assert(has(w, "cpu - no CUDA driver"));
    cr_assert(has(w, "scenario chat"));
    cr_assert(has(w, "PAUSED"));
    cr_assert(has(w, "attn=naive"));
    for (int i = 0; i < OPT_COUNT; i++) {   /* the key-bound ones, and those not at their defaults */
        char kv[96];
        snprintf(kv, sizeof kv, " %s=%s", option_def(i)->name, D.st->opt.v[i].s);
        /* spec_k while spec=off, tp/pp/micro_batches on one device: nothing to act on, left out;
         * admission at its default shows only in what does not happen (no preemptions) */
        bool idle = i == OPT_SPEC_K || i == OPT_TP || i == OPT_PP || i == OPT_MICRO_BATCHES || i == OPT_ADMISSION;
        if ((keys_bound((enum opt_id)i) && !idle) || i == OPT_MAX_SEQ) cr_assert(has(w, kv), "header lacks %s", kv);
        else cr_assert(!has(w, kv), "header shows %s: bound to no key (or idle) and at its default", kv);
    }
    cr_assert_eq(options_set(&D.st->opt, "spec", "ngram", err, sizeof err), 0);
    data_set_state(&D, D.st);
    panel_header_draw(w, &D, &UI);
    cr_assert(has(w, " spec=ngram") && has(w, " spec_k=4"), "with spec on, spec_k shows");
    cr_assert_eq(options_set(&D.st->opt, "pp", "2", err, sizeof err), 0);
    data_set_state(&D, D.st);
    panel_header_draw(w, &D, &UI);
    cr_assert(has(w, " tp=1") && has(w, " pp=2") && has(w, " micro_batches=1"), "a device group shows tp, pp, m");
    cr_assert_eq(options_set(&D.st->opt, "pp", "1", err, sizeof err), 0);
    data_set_state(&D, D.st);
    cr_assert_eq(options_set(&D.st->opt, "spec", "off", err, sizeof err), 0);
    data_set_state(&D, D.st);
    delwin(w);
    /* 80x24: one option row, key-bound ones compact ("a:naive"), the changed one by name */
    w = newwin(3, 80, 0, 0);
    panel_header_draw(w, &D, &UI);
    cr_assert(has(w, "a:naive") && has(w, "b:") && has(w, "max_seq=512"), "row 2: '%s'", row(w, 2));
    delwin(w);
    /* the help screen has every option's value */
    WINDOW *h = newwin(panel_help_lines(&D, KM_LIVE) + 2, 80, 0, 0);
    panel_help_draw(h, &D, &UI);
    for (int i = 0; i < OPT_COUNT; i++) {
        char kv[96];
        snprintf(kv, sizeof kv, "%s=%s", option_def(i)->name, D.st->opt.v[i].s);
        cr_assert(has(h, kv), "help lacks %s", kv);
    }
    delwin(h);
}

static struct step_record canned_step(uint64_t index, double attn_dram)
{
    struct step_record s = {.index = index, .prefill_tokens = 32, .decode_tokens = 4, .batch_size = 5,
                            .prefill_s = 0.02, .decode_s = 0.01};
    s.ops[OPC_ATTN] = (struct op_class_sum){.time_s = 0.01, .flops = 2e6, .dram_bytes = attn_dram, .chip_bytes = 0};
    s.ops[OPC_MATMUL] = (struct op_class_sum){.time_s = 0.02, .flops = 8e7, .dram_bytes = 4e6, .chip_bytes = 1e6};
    return s;
}

Test(panels, traffic_rows_and_window_since_change, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    D.info.modeled_bytes = true;
    data_set_state(&D, D.st);
    for (int i = 0; i < 10; i++) {
        struct step_record s = canned_step((uint64_t)i, 3e6);
        data_push_step(&D, &s);
    }
    WINDOW *w = newwin(10, 70, 0, 0);
    panel_traffic_draw(w, &D, &UI);
    cr_assert(has(w, "MODELED bytes, last 10 steps"));
    cr_assert(has(w, "attn    33%  3.00MB      0B    0.3   0.67"), "attn row: '%s'", row(w, 2));
    cr_assert(has(w, "matmul  67%  4.00MB  1.00MB    0.2   20.0") || has(w, "matmul  67%  4.00MB  1.00MB    0.2  20.00"),
              "matmul row: '%s'", row(w, 3));
    /* an option change at step 10 (attn=flash): only the steps since count */
    D.st->config_step = 10;
    data_set_state(&D, D.st);
    for (int i = 10; i < 14; i++) {
        struct step_record s = canned_step((uint64_t)i, 1e6);
        data_push_step(&D, &s);
    }
    panel_traffic_draw(w, &D, &UI);
    cr_assert(has(w, "last 4 steps"));
    cr_assert(has(w, "attn    33%  1.00MB"), "attn row after the change: '%s'", row(w, 2));
    delwin(w);
}

Test(panels, batch_and_phase_graphs_with_marker, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    data_set_state(&D, D.st);
    for (int i = 0; i < 30; i++) {
        struct step_record s = canned_step((uint64_t)i, 1e6);
        data_push_step(&D, &s);
        if (i == 19) { D.st->config_step = 20; data_set_state(&D, D.st); }
    }
    WINDOW *w = newwin(10, 42, 0, 0);
    panel_batch_draw(w, &D, &UI);
    cr_assert(has(w, "batch 5/16  run 2  wait 1  preempted 2"));
    cr_assert(has(w, "tok/step (max 36)"));
    /* 30 steps right-aligned in 40 columns: columns 11..40; the marker at step 20 is column 31 */
    int marker_col = 1 + 40 - 30 + 20;
    cr_assert_eq(row(w, 3)[marker_col], '|', "marker line: '%s'", row(w, 3));
    cr_assert_eq(row(w, 3)[marker_col - 1], ' ');
    cr_assert_eq(row(w, 2)[marker_col], 'v', "marker head: '%s'", row(w, 2));
    cr_assert_eq(row(w, 4)[marker_col + 2], '#', "batch bars: '%s'", row(w, 4));   /* 5/16 of 3 rows */
    cr_assert_eq(row(w, 4)[marker_col - 25], ' ', "no bars before the first step");
    werase(w);
    panel_phase_draw(w, &D, &UI);
    cr_assert(has(w, "TTFT p50/p99 123/456 ms  TPOT 7.5/9.2 ms") || has(w, "TTFT p50/p99 123/456 ms  TPOT 7.5/9.3 ms"),
              "latency: '%s'", row(w, 1));
    cr_assert(has(w, "attn 33% matmul 67% other  0%"), "op split: '%s'", row(w, 2));
    cr_assert(has(w, "ms/step (max 30.0)"));
    delwin(w);
}

Test(panels, footer_and_help_come_from_the_key_table, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    data_set_state(&D, D.st);
    WINDOW *f = newwin(1, 120, 0, 0);
    panel_footer_draw(f, &D, &UI);
    const char *bar = row(f, 0);
    cr_assert(strstr(bar, "? help") && strstr(bar, "q quit"), "footer: '%s'", bar);
    cr_assert(strstr(bar, "a attn") && strstr(bar, "b batching") && strstr(bar, "k kv"));
    cr_assert(UI.n_clicks >= 6, "footer entries are clickable");
    bool found = false;
    for (int i = 0; i < UI.n_clicks; i++) found |= UI.clicks[i].key == 'a';
    cr_assert(found);
    WINDOW *h = newwin(panel_help_lines(&D, UI.key_mode) + 2, 120, 0, 0);
    panel_help_draw(h, &D, &UI);
    int n;
    const struct key_binding *t = keys_table(&n);
    for (int i = 0; i < n; i++) {
        if (!(t[i].modes & KM_LIVE)) continue;       /* the live help lists the live keys */
        char line[256];
        keys_describe(&t[i], line, sizeof line);
        line[40] = 0;
        cr_assert(has(h, line), "help lacks '%s' (%s)", line, t[i].name);
    }
    delwin(h);
    delwin(f);
}

/* ---- key table ---- */

Test(keys, cycle_and_scale_through_the_registry)
{
    struct options o;
    char v[64], err[128];
    options_defaults(&o);
    cr_assert_eq(keys_next_value(keys_find('a'), &o, v, sizeof v), 0);
    cr_assert_str_eq(v, "naive");
    options_set(&o, "attn", v, err, sizeof err);
    keys_next_value(keys_find('a'), &o, v, sizeof v);
    cr_assert_str_eq(v, "flash");
    keys_next_value(keys_find('k'), &o, v, sizeof v);
    cr_assert_str_eq(v, "contiguous");
    keys_next_value(keys_find('b'), &o, v, sizeof v);
    cr_assert_str_eq(v, "static");
    keys_next_value(keys_find('p'), &o, v, sizeof v);
    cr_assert_str_eq(v, "off");
    const char *chunks[] = {"64", "256", "0"};
    for (int i = 0; i < 3; i++) {
        keys_next_value(keys_find('c'), &o, v, sizeof v);
        cr_assert_str_eq(v, chunks[i]);
        cr_assert_eq(options_set(&o, "chunked_prefill", v, err, sizeof err), 0);
    }
    keys_next_value(keys_find('+'), &o, v, sizeof v);
    cr_assert_str_eq(v, "2");
    keys_next_value(keys_find('-'), &o, v, sizeof v);
    cr_assert_str_eq(v, "0.5");
    options_set(&o, "rate_scale", "100", err, sizeof err);
    keys_next_value(keys_find('+'), &o, v, sizeof v);
    cr_assert_str_eq(v, "100", "clamped to the registry's max");
}

Test(keys, every_key_is_unique_per_mode_and_every_option_exists)
{
    int n;
    const struct key_binding *t = keys_table(&n);
    for (int i = 0; i < n; i++) {
        cr_assert(t[i].kind == KK_ACTION || (unsigned)t[i].opt < OPT_COUNT, "%s: unknown option", t[i].name);
        if (t[i].kind != KK_ACTION) {    /* a key may only change what a running scenario can apply */
            const struct option_def *d = option_def(t[i].opt);
            cr_assert(d->cls != OC_PROCESS && (d->scope & OS_RUN), "%s: %s cannot change mid-run", t[i].name, d->name);
            cr_assert(keys_bound(t[i].opt));
        }
        cr_assert(t[i].modes != 0 && (t[i].modes & ~(unsigned)KM_BOTH) == 0, "%s: modes", t[i].name);
        cr_assert(t[i].kind == KK_ACTION || t[i].modes == KM_LIVE, "%s: options change only live", t[i].name);
        for (int j = i + 1; j < n; j++)
            cr_assert(t[i].key != t[j].key || !(t[i].modes & t[j].modes), "key %s bound twice in one mode", t[i].name);
    }
}

Test(keys, replay_mode_has_its_own_plus_minus_and_no_option_keys)
{
    cr_assert_eq(keys_find_in('+', KM_REPLAY)->action, ACT_FASTER);
    cr_assert_eq(keys_find_in('-', KM_REPLAY)->action, ACT_SLOWER);
    cr_assert_eq(keys_find_in('+', KM_LIVE)->opt, OPT_RATE_SCALE);
    cr_assert_null(keys_find_in('k', KM_REPLAY));
    cr_assert_null(keys_find_in('r', KM_REPLAY));
    cr_assert_null(keys_find_in(KEY_RIGHT, KM_LIVE));
    cr_assert_eq(keys_find_in(' ', KM_REPLAY)->action, ACT_PAUSE);
    cr_assert_eq(keys_find_in('n', KM_REPLAY)->action, ACT_STEP);
    cr_assert_eq(keys_find_in(KEY_HOME, KM_REPLAY)->action, ACT_START);
    char line[512];
    keys_describe(keys_find_in('+', KM_REPLAY), line, sizeof line);
    cr_assert(strncmp(line, "replay: ", 8) == 0, "%s", line);
}

/* A speculative step: 2 requests drafted 4 tokens each; position i kept by
 * `kept_at[i]` of them; draft 2 ms, verify 8 ms. */
static struct step_record spec_step(uint64_t index, const int kept_at[4])
{
    struct step_record s = {.index = index, .decode_tokens = 10, .batch_size = 2, .decode_s = 0.01,
                            .dur_s = 0.01, .committed = 2};
    struct step_spec *p = &s.spec;
    p->kind = SPEC_NGRAM;
    p->k = 4;
    p->drafts = 2;
    p->drafted = 8;
    p->draft_s = 0.002;
    p->verify_s = 0.008;
    for (int j = 0; j < 4; j++) {
        p->drafted_at[j] = 2;
        p->accepted_at[j] = (uint16_t)kept_at[j];
        p->accepted += kept_at[j];
    }
    p->emitted = p->accepted + 2;
    s.committed = p->emitted;
    return s;
}

Test(panels, spec_panel_positions_speedups_and_graphs, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    cr_assert_eq(options_set(&D.st->opt, "spec", "ngram", (char[64]){0}, 64), 0);
    data_set_state(&D, D.st);
    static const int kept[4] = {2, 1, 1, 0};     /* position 1: 100%, 2: 50%, 3: 50%, 4: 0% */
    for (int i = 0; i < 20; i++) {
        struct step_record s = spec_step((uint64_t)i, kept);
        data_push_step(&D, &s);
    }
    /* the 80x24 body: 80 columns, 15 rows */
    WINDOW *w = newwin(15, 80, 0, 0);
    panel_spec_draw(w, &D, &UI);
    cr_assert(has(w, "speculative decoding"));
    cr_assert(has(w, "spec ngram k=4 accept 50.0%  mean len 3.00"), "summary: '%s'", row(w, 1));
    /* tokens per verify 3.0 over (1 + 2/8) = 2.40x; predicted from a = 0.5, k = 4, c = 2/(4*8) */
    cr_assert(has(w, "speedup measured 2.40x predicted 1.55x (c 0.062)"), "speedups: '%s'", row(w, 2));
    cr_assert(has(w, "pos  1 100% "), "position 1");
    cr_assert(has(w, "pos  2  50% "), "position 2");
    cr_assert(has(w, "pos  4   0% "), "position 4");
    cr_assert(has(w, "accept %/step (max 100.0)"));
    cr_assert(has(w, "tokens/target step (max 3.0)"));
    delwin(w);
    /* spec=off and nothing drafted: says how to turn it on */
    data_reset_history(&D);
    cr_assert_eq(options_set(&D.st->opt, "spec", "off", (char[64]){0}, 64), 0);
    data_set_state(&D, D.st);
    w = newwin(15, 80, 0, 0);
    panel_spec_draw(w, &D, &UI);
    cr_assert(has(w, "spec off k=4 (off: s cycles the drafter)"), "'%s'", row(w, 1));
    delwin(w);
}

/* A canned 2-stage schedule of 2 micro-batches: stage 0 computes mb 0 and 1
 * then idles (drain), stage 1 idles (fill), then computes them. */
static void canned_pipeline(struct runner_state *st, int pp, int mb)
{
    memset(&st->par, 0, sizeof st->par);
    st->par.tp = 1;
    st->par.pp = pp;
    st->par.micro_batches = st->par.mb_used = mb;
    st->par.n_devices = pp;
    snprintf(st->par.comm_algo, sizeof st->par.comm_algo, "ring");
    double T = 1.0;
    st->n_seg = 0;
    for (int s = 0; s < pp; s++) {
        st->par.dev[s] = (struct tel_device){.device = s, .stage = s, .l0 = 2 * s, .l1 = 2 * s + 2,
                                            .compute_s = mb * T, .comm_s = 0.1,
                                            .idle_s = (pp - 1) * T, .weight_bytes = 1e6, .kv_bytes = 2e6};
        if (s > 0) st->seg[st->n_seg++] = (struct tel_segment){(int16_t)s, (int16_t)s, -1, SEG_IDLE, 0, s * T};
        for (int m = 0; m < mb; m++)
            st->seg[st->n_seg++] = (struct tel_segment){(int16_t)s, (int16_t)s, (int16_t)m, SEG_COMPUTE,
                                                        (s + m) * T, (s + m + 1) * T};
        if (s < pp - 1)
            st->seg[st->n_seg++] = (struct tel_segment){(int16_t)s, (int16_t)s, -1, SEG_IDLE, (s + mb) * T,
                                                        (mb + pp - 1) * T};
    }
    st->par.span_s = (mb + pp - 1) * T;
    st->par.bubble = st->par.bubble_formula = (double)(pp - 1) / (mb + pp - 1);
}

Test(panels, pipeline_gantt_shows_micro_batches_and_bubbles, .init = screen_up, .fini = screen_down)
{
    WINDOW *w = newwin(14, 100, 0, 0);
    D.have_state = true;
    panel_pipe_draw(w, &D, &UI);
    cr_assert(has(w, "one device: set tp or pp"), "without parallelism the panel says how to get it");
    canned_pipeline(D.st, 2, 2);
    panel_pipe_draw(w, &D, &UI);
    cr_assert(has(w, "tp=1 pp=2 m=2"), "%s", row(w, 1));
    cr_assert(has(w, "bubble 33.3% measured vs (p-1)/(m+p-1) 33.3%"), "%s", row(w, 1));
    /* 89 cells over 3 time units: stage 0 = mb 0, mb 1, idle; stage 1 = idle, mb 0, mb 1 */
    const char *r0 = row(w, 2) + 10, *r1;
    cr_assert(r0[0] == '0' && r0[40] == '1' && r0[80] == '.', "stage 0: %s", row(w, 2));
    r1 = row(w, 3) + 10;
    cr_assert(r1[0] == '.' && r1[40] == '0' && r1[80] == '1', "stage 1: %s", row(w, 3));
    cr_assert(has(w, "idle (bubble)"));
    cr_assert(has(w, "w 1.00MB kv 2.00MB"), "device rows show memory");
    cr_assert(has(w, "d1 L2-3 w "), "device rows name their stage's layers");
    /* four micro-batches over four stages: more rows, another bubble */
    canned_pipeline(D.st, 4, 4);
    panel_pipe_draw(w, &D, &UI);
    cr_assert(has(w, "tp=1 pp=4 m=4"));
    cr_assert(has(w, "42.9% measured"), "%s", row(w, 1));
    cr_assert(strchr(row(w, 5) + 10, '3') && row(w, 5)[10] == '.', "stage 3 waits, then runs mb 3: %s", row(w, 5));
    delwin(w);
}

/* The measure key's result: a meas/st column and its error beside the
 * modeled bytes of the op classes it measured ("-" for the others); without
 * a result the reason takes the bottom row. */
Test(panels, traffic_measured_column_and_reason, .init = screen_up, .fini = screen_down)
{
    canned_state(D.st);
    D.info.modeled_bytes = true;
    snprintf(D.info.backend, sizeof D.info.backend, "cpu");
    data_set_state(&D, D.st);
    for (int i = 0; i < 10; i++) {
        struct step_record s = canned_step((uint64_t)i, 3e6);
        data_push_step(&D, &s);
    }
    memset(&D.measured, 0, sizeof D.measured);
    D.measured.have = true;
    D.measured.steps = 2;
    D.measured.n_rows = 1;
    snprintf(D.measured.rows[0].name, sizeof D.measured.rows[0].name, "%s", op_class_name(OPC_ATTN));
    D.measured.rows[0].dram = 2 * 2.5e6;            /* measured 2.50MB a step */
    D.measured.rows[0].modeled_dram = 2 * 3e6;      /* modeled 3.00MB: +20% */
    WINDOW *w = newwin(12, 96, 0, 0);
    panel_traffic_draw(w, &D, &UI);
    cr_assert(has(w, "meas/st    err"), "header: '%s'", row(w, 1));
    cr_assert(has(w, "attn    33%  3.00MB      0B    0.3   0.67  2.50MB   +20%"), "attn row: '%s'", row(w, 2));
    cr_assert(has(w, "      -"), "a class not measured shows '-': '%s'", row(w, 3));
    cr_assert(has(w, "+ measured column") && has(w, "graphs: n/a (cpu)"), "title: '%s'", row(w, 0));
    memset(&D.measured, 0, sizeof D.measured);
    snprintf(D.measured.reason, sizeof D.measured.reason, "traffic not measured: no usable CUDA device (backend cpu)");
    panel_traffic_draw(w, &D, &UI);
    cr_assert(!has(w, "meas/st"));
    cr_assert(has(w, "measured: traffic not measured: no usable CUDA device"), "bottom row: '%s'", row(w, 10));
    delwin(w);
    memset(&D.measured, 0, sizeof D.measured);
}
