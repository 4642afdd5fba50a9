/* tui/session.c — backend choice and model loading for the commands. */
#include "tui/session.h"
#include "kernels/registry.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MODEL "synth:smollm2-135m"

/* A backend note (e.g. a weight format converted on upload): one stderr line,
 * before the TUI takes the screen. */
static void print_backend_note(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "backend: %s\n", line);
}

/* Input first (model file, options), then the backend: a bad file gives one
 * line on stderr and nothing else. */
int session_open(struct session *s, struct cli_args *a)
{
    char err[512];
    memset(s, 0, sizeof *s);
    const char *spec = a->model ? a->model : DEFAULT_MODEL;
    int threads = (int)opt_i(&a->opt, OPT_THREADS);
    bool synth = strncmp(spec, "synth:", 6) == 0;
    if (synth && !a->quiet && isatty(2)) fprintf(stderr, "model: generating synthetic weights for %s...\r", spec);
    uint64_t t0 = now_ns();
    if (model_load(&s->model, spec, (enum dtype)dtype_from_name(opt_s(&a->opt, OPT_WTYPE)),
                   (uint64_t)opt_i(&a->opt, OPT_SEED), threads > 0 ? threads : 2, err, sizeof err) < 0) {
        cli_error("%s", err);
        s->exit_code = EXIT_BAD_INPUT;
        return -1;
    }
    double load_s = (now_ns() - t0) / 1e9;
    s->be = backend_create(opt_s(&a->opt, OPT_DEVICE), threads, err, sizeof err);
    if (!s->be) {
        cli_error("%s", err);
        model_free(&s->model);
        s->exit_code = EXIT_BAD_INPUT;
        return -1;
    }
    if (!a->quiet) s->be->note = print_backend_note;
    if (model_upload(&s->model, s->be) < 0) {
        cli_error("%s: could not copy weights to the %s backend", spec, s->be->ops->name);
        session_close(s);
        s->exit_code = 1;
        return -1;
    }
    if (!a->quiet) {
        const struct model_config *c = &s->model.cfg;
        fprintf(stderr, "backend: %s (%s) — %s\n", s->be->ops->name, s->be->device_name, s->be->reason);
        fprintf(stderr, "model: %s — %.1fM params, %s, %d layers, heads %d:%d, loaded in %.2f s\n",
                s->model.source, model_param_count(c) / 1e6, dtype_info(s->model.wtype)->name,
                c->n_layers, c->n_heads, c->n_kv_heads, load_s);
    }
    return 0;
}

void session_close(struct session *s)
{
    model_free(&s->model);
    backend_destroy(s->be);
    s->be = NULL;
}
