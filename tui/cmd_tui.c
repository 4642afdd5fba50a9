/* tui/cmd_tui.c — `infertop tui` (and plain `infertop` on a terminal): set
 * up the scenario, model and backend, start the engine thread and run the
 * TUI at once; when a rate is relative to capacity, the engine thread
 * measures it first (core/engine/runner.c) while the TUI shows the probe's
 * progress, or reuses a cached one (core/workload/capacity_cache.h). `infertop keys` prints the key table. */
#include "core/plan/hw.h"
#include "core/engine/runner.h"
#include "core/quant/evaltext.h"
#include "core/quant/quality.h"
#include "core/quant/reference.h"
#include "tui/app.h"
#include "tui/cli.h"
#include "tui/keys.h"
#include "tui/live_record.h"
#include "tui/live_traffic.h"
#include "tui/setup.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TUI_SCENARIO "scenarios/chat.ini"
#define TUI_PROBE_MAX_S 10.0    /* the workload should start within seconds */

static void fill_info(struct tui_info *in, const struct session *S, const struct run_setup *b)
{
    memset(in, 0, sizeof *in);
    snprintf(in->model, sizeof in->model, "%s", S->model.source);
    snprintf(in->model_name, sizeof in->model_name, "%s", S->model.cfg.name);
    in->params = model_param_count(&S->model.cfg);
    snprintf(in->wformat, sizeof in->wformat, "%s", dtype_info(S->model.wtype)->name);
    snprintf(in->device, sizeof in->device, "%s (%s)", S->be->ops->name, S->be->device_name);
    snprintf(in->backend, sizeof in->backend, "%s", S->be->ops->name);
    char bw[96];
    hw_bw_line(bw, sizeof bw, S->be->measured_bw, S->be->device_name);   /* a real GPU's copy test */
    snprintf(in->device_reason, sizeof in->device_reason, "%.64s%s%.92s", bw, bw[0] ? "; " : "", S->be->reason);
    snprintf(in->scenario, sizeof in->scenario, "%s", b->sc.name);
    in->modeled_bytes = true;    /* step records carry no measured-bytes flag yet */
}

/* The quality line, before the screen opens (stderr says what runs): the
 * weights against the reference when an option changes them. */
static void measure_quality(struct runner_config *c, const char *spec, bool quiet)
{
    char line[256];
    snprintf(c->model_spec, sizeof c->model_spec, "%s", spec);
    if (!quiet && reference_differs(&c->opt, spec)) {
        reference_format(&c->opt, spec, false, line, sizeof line);
        fprintf(stderr, "quality: measuring %s against the reference on %d tokens of %s...\n", line, QUALITY_TOKENS,
                EVALTEXT_EVAL);
    }
    quality_measure(c->model, c->be, spec, &c->opt, &c->quality);
    quality_format(&c->quality, line, sizeof line);
    if (!quiet && c->quality.state != TQ_REFERENCE) fprintf(stderr, "%s\n", line);
}

/* runner_config.reload: a quant=... change re-transforms the session's weights. */
static int reload_session(void *ctx, const struct options *o, void (*progress)(void *, const char *), void *user,
                          char *err, size_t errlen)
{
    return session_reload_weights(ctx, o, progress, user, err, errlen);
}

int cmd_tui(struct cli_args *a)
{
    char err[512];
    static struct run_setup b;
    if (!isatty(0) || !isatty(1)) {          /* say so before minutes of setup */
        cli_error("tui: stdin and stdout must be a terminal (headless: infertop bench)");
        return EXIT_BAD_INPUT;
    }
    if (setup_no_positional(a) < 0 || setup_load(a, TUI_SCENARIO, &a->opt, &b) < 0) return EXIT_BAD_INPUT;
    struct session S;
    int src = setup_session(&S, a, &b);
    if (src) return src;
    static struct runner_config rc_cfg;
    rc_cfg = (struct runner_config){.opt = b.opt, .model = &S.model, .draft = b.draft, .be = S.be, .sc = b.sc,
                                    .probe_max_s = TUI_PROBE_MAX_S, .capacity_cache = true,
                                    .reload = reload_session, .reload_ctx = &S};
    measure_quality(&rc_cfg, b.model ? b.model : SESSION_DEFAULT_MODEL, a->quiet);
    static struct live_record lr;     /* large (three trace_runs + a recorder): not on the stack */
    if (a->record) {
        if (live_record_init(&lr, a->record, b.sc.name, b.sc.path) < 0) {
            cli_error("--record %s: out of memory", a->record);
            session_close(&S);
            return 1;
        }
        live_record_hooks(&lr, &rc_cfg);
    }
    static struct live_traffic lt;    /* the measure key (x): holds a traffic_measure */
    live_traffic_init(&lt, S.be->ops->name);
    live_traffic_hooks(&lt, &rc_cfg);
    struct runner *r;
    if (runner_start(&r, &rc_cfg, err, sizeof err) < 0) {
        cli_error("%s", err);
        if (a->record) live_record_free(&lr);
        live_traffic_free(&lt);
        session_close(&S);
        return 1;
    }
    struct tui_info info;
    fill_info(&info, &S, &b);
    struct app_config cfg = {.info = &info, .fps = 15, .mono = false, .ascii = false, .rec = a->record ? &lr : NULL,
                             .traffic = &lt};
    int rc = app_run(r, &cfg);
    runner_stop(r);
    live_traffic_free(&lt);
    if (a->record) {
        if (live_record_finish(&lr, err, sizeof err) < 0) {
            cli_error("%s", err);
            rc = rc ? rc : 1;
        }
        live_record_free(&lr);
    }
    session_close(&S);
    return rc;
}

int cmd_keys(struct cli_args *a)
{
    (void)a;
    keys_print_markdown(stdout);
    return 0;
}
