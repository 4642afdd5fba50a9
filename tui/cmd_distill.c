/* tui/cmd_distill.c — `infertop distill`: the command-line wrapper of
 * core/train/distill (flags and options → config, data files, progress on
 * stderr, Ctrl-C → checkpoint, outputs). */
#include "core/model/draft_info.h"
#include "core/model/tokenizer.h"
#include "core/train/distill.h"
#include "core/train/train_ops.h"
#include "traces/outfile.h"
#include "tui/cli.h"
#include "tui/setup.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PROMPTS "scenarios/distill_prompts.txt"

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct ctx {
    const struct cli_args *a;
    char ckpt[1100];
    bool tty;
    double t0;
};

/* A whole file (at most 64 MiB) as a NUL-terminated string. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) { cli_error("%s: open: %s", path, strerror(errno)); return NULL; }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
        cli_error("%s: file: expected a regular text file under 64 MiB", path);
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)st.st_size) { free(buf); cli_error("%s: read failed", path); return NULL; }
    buf[got] = '\0';
    if (strlen(buf) != got) { free(buf); cli_error("%s: file: expected text (it holds a NUL byte)", path); return NULL; }
    *len = got;
    return buf;
}

/* Non-empty lines not starting with '#': the prompts (in place). */
static int split_prompts(char *text, const char **out, int cap)
{
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
        size_t k = strlen(line);
        while (k && (line[k - 1] == '\r' || line[k - 1] == ' ')) line[--k] = '\0';
        if (k && line[0] != '#') out[n++] = line;
    }
    return n;
}

static int load_data(struct distill *d, const struct cli_args *a, FILE *log)
{
    const char *spec = a->data ? a->data : "prompts";
    char err[512], buf[1100];
    size_t len;
    int rc = -1;
    bool text = !strncmp(spec, "text:", 5);
    if (!text && strcmp(spec, "prompts") && strncmp(spec, "prompts:", 8)) {
        cli_error("--data %s: expected prompts, prompts:FILE or text:FILE", spec);
        return -1;
    }
    const char *path = text ? spec + 5 : spec[7] == ':' ? spec + 8 : setup_find_path(DEFAULT_PROMPTS, buf, sizeof buf);
    char *body = read_text(path, &len);
    if (!body) return -1;
    if (text) {
        const struct model *m = d->teacher;
        int32_t *ids = malloc((len + 8) * sizeof *ids);
        int64_t n = 0;
        if (!ids) { free(body); cli_error("%s: out of memory", path); return -1; }
        if (m->tok) n = tokenizer_encode(m->tok, body, len, false, false, ids, (int)len + 8);
        if (n > (int64_t)len + 8) n = (int64_t)len + 8;     /* more ids than bytes: keep what fit */
        if (n < 0) { free(ids); free(body); cli_error("%s: out of memory tokenizing", path); return -1; }
        else for (; n < (int64_t)len; n++) ids[n] = (int32_t)((unsigned char)body[n] % m->cfg.vocab);
        rc = distill_data_tokens(d, ids, n, log, err, sizeof err);
        free(ids);
    } else {
        static const char *prompts[100000];
        int n = split_prompts(body, prompts, 100000);
        rc = distill_data_prompts(d, prompts, n, log, err, sizeof err);
    }
    if (rc < 0) cli_error("%s: %s", path, err);
    free(body);
    return rc;
}

static void fmt_eta(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
    else if (s >= 3600) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static void progress(const struct distill *d, const struct distill_point *p, bool eval, void *vctx)
{
    struct ctx *c = vctx;
    if (c->a->quiet || (!c->tty && !eval)) return;
    double rate = d->train_s > 0 ? (double)d->tokens_seen / d->train_s : 0;
    double left = (double)(d->total_steps - d->step) * d->cfg.batch * d->cfg.seq_len / (rate > 0 ? rate : NAN);
    char eta[32];
    fmt_eta(left, eta, sizeof eta);
    fprintf(stderr, "%sdistill: step %d/%d | %.0f tok/s | loss %.4f | held-out KL %.4f | ETA %s%s",
            c->tty ? "\r" : "", p->step, d->total_steps, rate, isfinite(p->loss) ? p->loss : NAN,
            d->kl_last, eta, c->tty ? "   " : "\n");
    fflush(stderr);
}

static int save_ckpt(struct distill *d, void *vctx)
{
    struct ctx *c = vctx;
    char err[1400];
    if (distill_save_checkpoint(d, c->ckpt, err, sizeof err) < 0) {
        cli_error("checkpoint: %s", err);
        return -1;
    }
    return 0;
}

/* Options → training config. -1 with the error printed. */
static int config_from(struct distill_cfg *k, const struct cli_args *a)
{
    const struct options *o = &a->opt;
    distill_cfg_defaults(k);
    k->batch = (int)opt_i(o, OPT_TRAIN_BATCH);
    k->seq_len = (int)opt_i(o, OPT_TRAIN_SEQ);
    k->topk = (int)opt_i(o, OPT_TRAIN_TOPK);
    k->tau = (float)opt_f(o, OPT_TRAIN_TAU);
    k->opt.lr = (float)opt_f(o, OPT_TRAIN_LR);
    k->opt.min_lr = (float)opt_f(o, OPT_TRAIN_MIN_LR);
    k->opt.warmup = (int)opt_i(o, OPT_TRAIN_WARMUP);
    k->opt.weight_decay = (float)opt_f(o, OPT_TRAIN_WD);
    k->opt.clip = (float)opt_f(o, OPT_TRAIN_CLIP);
    k->heldout_frac = opt_f(o, OPT_TRAIN_HELDOUT);
    k->data_tokens = opt_i(o, OPT_TRAIN_DATA);
    k->sample_temp = (float)opt_f(o, OPT_TRAIN_SAMPLE_TEMP);
    k->greedy_first = opt_i(o, OPT_TRAIN_GREEDY) != 0;
    k->heldout_temp = (float)opt_f(o, OPT_TRAIN_HELDOUT_TEMP);
    k->train_embd = opt_i(o, OPT_TRAIN_EMBD) != 0;
    k->eval_every = (int)opt_i(o, OPT_TRAIN_EVAL);
    k->ckpt_every = (int)opt_i(o, OPT_TRAIN_CKPT);
    k->seed = (uint64_t)opt_i(o, OPT_SEED);
    if (a->tokens) k->tokens = a->tokens;
    if (a->init && strcmp(a->init, "truncate") && strcmp(a->init, "random")) {
        cli_error("--init %s: expected truncate or random", a->init);
        return -1;
    }
    k->init = a->init && !strcmp(a->init, "random") ? DISTILL_INIT_RANDOM : DISTILL_INIT_TRUNCATE;
    const char *L = opt_s(o, OPT_TRAIN_LAYERS);
    for (int n = 0; *L; n++) {
        char *end;
        long v = strtol(L, &end, 10);
        if (end == L || v < 0 || v > 4095 || n >= 64 || (*end && *end != ',')) {
            cli_error("train_layers=%s: expected teacher layer numbers, comma separated", opt_s(o, OPT_TRAIN_LAYERS));
            return -1;
        }
        k->copy_layers[n] = (int)v;
        k->copy_layers[n + 1 < 64 ? n + 1 : n] = n + 1 < 64 ? -1 : k->copy_layers[n];
        L = *end ? end + 1 : end;
    }
    return 0;
}

static int check_layer_count(const struct distill_cfg *k, const struct distill *d)
{
    if (k->init != DISTILL_INIT_TRUNCATE || k->copy_layers[0] < 0) return 0;
    int n = 0;
    while (n < 64 && k->copy_layers[n] >= 0) n++;
    if (n == d->st.cfg.n_layers) return 0;
    cli_error("train_layers: %d layers listed: expected one per student layer (%d)", n, d->st.cfg.n_layers);
    return -1;
}

static int write_outputs(struct distill *d, const struct cli_args *a)
{
    char err[1400];
    const char *tsrc = d->teacher->source;
    bool gguf = strncmp(tsrc, "synth:", 6) != 0;
    if (distill_write_gguf(d, a->output, gguf ? tsrc : NULL, opt_i(&a->opt, OPT_TRAIN_F16) != 0, err,
                           sizeof err) < 0) {
        cli_error("-o %s", err);
        return 1;
    }
    struct model back;
    if (model_load_gguf(&back, a->output, err, sizeof err) < 0) {
        cli_error("-o: the written draft does not load: %s", err);
        return 1;
    }
    model_free(&back);
    struct draft_info info;
    char line[400];
    if (draft_info_read(a->output, &info, err, sizeof err) == 0) {
        draft_info_format(&info, line, sizeof line);
        if (!a->quiet) fprintf(stderr, "distill: wrote %s (%s)\n", a->output, line);
    }
    if (a->json) {
        struct outfile o;
        if (outfile_open(&o, a->json, err, sizeof err) < 0) { cli_error("--json %s", err); return 1; }
        distill_write_json(d, o.f);
        if (outfile_close(&o, true, err, sizeof err) < 0) { cli_error("--json %s", err); return 1; }
    }
    return 0;
}

static int need(const char *v, const char *flag, const char *what)
{
    if (v) return 0;
    cli_error("distill: %s is required (%s)", flag, what);
    return -1;
}

int cmd_distill(struct cli_args *a)
{
    if (setup_no_positional(a) < 0) return EXIT_BAD_INPUT;
    if (need(a->teacher, "--teacher", "the model to distill: FILE.gguf or synth:NAME") < 0 ||
        need(a->student, "--student", "a shape: LAYERSxDIM like 2x576, or layers=..,dim=..,heads=..,kv_heads=..,ffn=..") < 0 ||
        need(a->output, "-o", "the draft GGUF to write") < 0)
        return EXIT_BAD_INPUT;
    struct distill_cfg k;
    if (config_from(&k, a) < 0) return EXIT_BAD_INPUT;
    struct cli_args ta = *a;
    ta.model = a->teacher;
    struct session S;
    int rc = setup_session(&S, &ta, NULL);
    if (rc) return rc;
    int threads = (int)opt_i(&a->opt, OPT_THREADS);
    train_set_threads(threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    struct distill d;
    char err[1400];
    struct ctx c = {.a = a, .tty = isatty(2)};
    snprintf(c.ckpt, sizeof c.ckpt, "%s.ckpt", a->output);
    rc = EXIT_BAD_INPUT;
    if (distill_init(&d, &k, &S.model, S.be, a->student, err, sizeof err) < 0) {
        cli_error("%s", err);
        session_close(&S);
        return EXIT_BAD_INPUT;
    }
    if (check_layer_count(&k, &d) < 0) goto done;
    if (!a->quiet)
        fprintf(stderr, "distill: student %dx%d (heads %d, kv %d, ffn %d): %zu parameters, %zu trained "
                        "(embedding %s), %d steps of %d x %d tokens, %d threads, %s\n",
                d.st.cfg.n_layers, d.st.cfg.dim, d.st.cfg.n_heads, d.st.cfg.n_kv_heads, d.st.cfg.ffn_dim,
                d.st.n_params, d.n_train, k.train_embd ? "trained" : "frozen", d.total_steps, k.batch,
                k.seq_len, train_threads(), train_simd_name());
    if (a->resume && distill_checkpoint_verify(a->resume, err, sizeof err) < 0) {
        cli_error("--resume %s", err);
        goto done;
    }
    if (load_data(&d, a, a->quiet ? NULL : stderr) < 0) goto done;
    if (a->resume && distill_resume(&d, a->resume, err, sizeof err) < 0) {
        cli_error("--resume %s", err);
        goto done;
    }
    if (a->resume && !a->quiet) fprintf(stderr, "distill: resumed %s at step %d\n", a->resume, d.step);
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    int stopped = distill_train(&d, &g_stop, progress, save_ckpt, &c);
    sigaction(SIGINT, &old, NULL);
    if (c.tty && !a->quiet) fputc('\n', stderr);
    if (stopped) {
        rc = save_ckpt(&d, &c) < 0 ? 1 : 130;
        if (rc == 130)
            fprintf(stderr, "distill: interrupted at step %d/%d: checkpoint %s (continue with --resume %s)\n",
                    d.step, d.total_steps, c.ckpt, c.ckpt);
        goto done;
    }
    if (k.ckpt_every > 0 && save_ckpt(&d, &c) < 0) { rc = 1; goto done; }
    if (!a->quiet) {
        distill_print_curve(&d, stderr);
        fprintf(stderr, "distill: held-out KL %.4f -> %.4f (top-%d + tail, tau %g) | %llu tokens in %.1f s "
                        "(%.0f tok/s training)\n", d.kl_before, d.kl_last, d.train_t.k, k.tau,
                (unsigned long long)d.tokens_seen, d.train_s, d.train_s > 0 ? d.tokens_seen / d.train_s : 0.0);
        double a0 = d.top1_before, a1 = d.top1_last;
        fprintf(stderr, "distill: held-out top-1 agreement with the teacher %.1f%% -> %.1f%% (teacher-forced, = "
                        "per-token greedy acceptance a); predicted tokens per target step at k=4, "
                        "(1-a^5)/(1-a) (Leviathan et al., i.i.d. a): %.2f -> %.2f\n", 100 * a0, 100 * a1,
                a0 < 1 ? (1 - pow(a0, 5)) / (1 - a0) : 5.0, a1 < 1 ? (1 - pow(a1, 5)) / (1 - a1) : 5.0);
    }
    rc = write_outputs(&d, a);
done:
    distill_free(&d);
    session_close(&S);
    return rc;
}
