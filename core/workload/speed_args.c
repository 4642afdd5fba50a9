/* core/workload/speed_args.c — the flags of `infertop speed` (speed.h):
 * parsing only, no model or backend, so the fuzz target links it alone. */
#include "core/workload/session.h"   /* SESSION_DEFAULT_MODEL */
#include "core/workload/speed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void speed_usage(FILE *out)
{
    fprintf(out,
            "usage: infertop speed [-m M[,M..]] [-p N[,N..]] [-n N[,N..]] [-d N[,N..]] [-t N[,N..]]\n"
            "                      [-b N[,N..]] [-r N] [-o md|csv|json] [--set \"name=v1,v2 ...\"] [-q]\n"
            "\n"
            "Model throughput in llama-bench's shape: every combination of the lists is one test.\n"
            "  -m  models: synth:NAME or FILE.gguf (default %s)\n"
            "  -p  prompt sizes: test ppN processes N tokens per sequence (default 512; 0 none)\n"
            "  -n  generation sizes: test tgN decodes N tokens per sequence (default 128; 0 none)\n"
            "  -d  depths: tokens already in the KV cache before the test, filled untimed (default 0)\n"
            "  -t  threads (default: the threads option, 0 = the backend's choice)\n"
            "  -b  parallel sequences per step; t/s counts all of them, as llama-batched-bench's S_PP/S_TG\n"
            "      (default 1)\n"
            "  -r  timed repetitions per test after one warm-up (default 5); t/s is mean ± stddev\n"
            "  -o  output: md (llama-bench's table), csv or json (default md)\n"
            "  --set  registry options (`infertop options`); a comma list is swept, e.g.\n"
            "         --set \"kv_dtype=f16,f32 attn=flash,naive\"\n"
            "  -q  no progress on stderr\n",
            SESSION_DEFAULT_MODEL);
}

/* "512,1024" → l (each in [lo, hi]). */
static int parse_int_list(const char *flag, const char *s, int lo, int hi, struct speed_list *l,
                          char *err, size_t errlen)
{
    l->n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < lo || v > hi || (*end && *end != ',') || l->n == SPEED_MAX_LIST) {
            expect_error(err, errlen, flag, s, "a comma list of at most %d integers in [%d, %d]",
                         SPEED_MAX_LIST, lo, hi);
            return -1;
        }
        l->v[l->n++] = (int)v;
        if (!*end) return 0;
        p = end + 1;
    }
}

/* One "name=v1,v2" item of --set: every value checked by the registry. The
 * lists use commas, which kvlist treats as item separators, so items here
 * are split on spaces only. */
static int parse_set_item(struct speed_args *a, const struct options *base, const char *item,
                          char *err, size_t errlen)
{
    const char *eq = strchr(item, '=');
    if (!eq || eq == item) { expect_error(err, errlen, "--set", item, "name=v1[,v2...]"); return -1; }
    char name[64];
    size_t nl = (size_t)(eq - item);
    if (nl >= sizeof name) { expect_error(err, errlen, "--set", item, "an option name"); return -1; }
    memcpy(name, item, nl);
    name[nl] = 0;
    int id = option_find(name);
    if (id < 0) { expect_error(err, errlen, "--set", name, "an option of `infertop options`"); return -1; }
    if (id == OPT_THREADS) { expect_error(err, errlen, "--set", name, "-t for thread counts"); return -1; }
    struct speed_set *s = NULL;
    for (int i = 0; i < a->n_sets; i++)
        if (a->sets[i].id == (enum opt_id)id) s = &a->sets[i];
    if (!s) {
        if (a->n_sets == SPEED_MAX_SETS) {
            expect_error(err, errlen, "--set", item, "at most %d swept options", SPEED_MAX_SETS);
            return -1;
        }
        s = &a->sets[a->n_sets++];
        s->id = (enum opt_id)id;
        s->n = 0;
    }
    const char *v = eq + 1;
    for (;;) {
        const char *c = strchr(v, ',');
        size_t n = c ? (size_t)(c - v) : strlen(v);
        if (s->n == SPEED_MAX_LIST || n >= SPEED_MAX_VALUE) {
            expect_error(err, errlen, "--set", item, "at most %d values of at most %d characters",
                         SPEED_MAX_LIST, SPEED_MAX_VALUE - 1);
            return -1;
        }
        memcpy(s->values[s->n], v, n);
        s->values[s->n][n] = 0;
        struct options probe = *base;
        if (options_set_id(&probe, s->id, s->values[s->n], err, errlen) < 0) return -1;
        s->n++;
        if (!c) return 0;
        v = c + 1;
    }
}

static int parse_set(struct speed_args *a, const struct options *base, const char *text, char *err,
                     size_t errlen)
{
    char buf[1024];
    if (strlen(text) >= sizeof buf) { expect_error(err, errlen, "--set", NULL, "at most 1023 characters"); return -1; }
    strcpy(buf, text);
    char *save = NULL;
    for (char *it = strtok_r(buf, " \t\n", &save); it; it = strtok_r(NULL, " \t\n", &save))
        if (parse_set_item(a, base, it, err, errlen) < 0) return -1;
    return 0;
}

static int parse_models(struct speed_args *a, char *s, char *err, size_t errlen)
{
    /* s is argv memory: split it in place, the pointers stay valid */
    char *save = NULL;
    for (char *m = strtok_r(s, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        if (a->n_models == SPEED_MAX_LIST) {
            expect_error(err, errlen, "-m", m, "at most %d models", SPEED_MAX_LIST);
            return -1;
        }
        a->models[a->n_models++] = m;
    }
    if (a->n_models == 0) { expect_error(err, errlen, "-m", s, "a model"); return -1; }
    return 0;
}

static void speed_defaults(struct speed_args *a, const struct options *base)
{
    memset(a, 0, sizeof *a);
    a->p = (struct speed_list){{512}, 1};
    a->n = (struct speed_list){{128}, 1};
    a->d = (struct speed_list){{0}, 1};
    a->t = (struct speed_list){{(int)opt_i(base, OPT_THREADS)}, 1};
    a->b = (struct speed_list){{1}, 1};
    a->reps = 5;
    a->fmt = SPEED_MD;
}

int speed_parse_args(int argc, char **argv, const struct options *base, struct speed_args *a,
                     char *err, size_t errlen)
{
    speed_defaults(a, base);
    bool models_given = false;
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-q") || !strcmp(f, "--quiet")) { a->quiet = true; continue; }
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) { a->help = true; continue; }
        static const char *const WITH_VALUE[] = {"-m", "-p", "-n", "-d", "-t", "-b", "-r", "-o", "--set"};
        bool known = false;
        for (size_t k = 0; k < sizeof WITH_VALUE / sizeof *WITH_VALUE; k++) known |= !strcmp(f, WITH_VALUE[k]);
        if (!known) {
            expect_error(err, errlen, f, NULL, "a flag of -m -p -n -d -t -b -r -o --set -q -h (see --help)");
            return -1;
        }
        if (i + 1 >= argc) { expect_error(err, errlen, f, NULL, "a value after it"); return -1; }
        char *v = argv[++i];
        int rc = 0;
        if (!strcmp(f, "-m")) {
            if (!models_given) a->n_models = 0;
            models_given = true;
            rc = parse_models(a, v, err, errlen);
        } else if (!strcmp(f, "-p")) rc = parse_int_list(f, v, 0, 1 << 20, &a->p, err, errlen);
        else if (!strcmp(f, "-n")) rc = parse_int_list(f, v, 0, 1 << 20, &a->n, err, errlen);
        else if (!strcmp(f, "-d")) rc = parse_int_list(f, v, 0, 1 << 20, &a->d, err, errlen);
        else if (!strcmp(f, "-t")) rc = parse_int_list(f, v, 1, 256, &a->t, err, errlen);
        else if (!strcmp(f, "-b")) rc = parse_int_list(f, v, 1, 4096, &a->b, err, errlen);
        else if (!strcmp(f, "-r")) {
            struct speed_list l;
            rc = parse_int_list(f, v, 1, SPEED_MAX_REPS, &l, err, errlen);
            if (rc == 0 && l.n != 1) { expect_error(err, errlen, f, v, "one repetition count"); rc = -1; }
            if (rc == 0) a->reps = l.v[0];
        } else if (!strcmp(f, "-o")) {
            if (!strcmp(v, "md")) a->fmt = SPEED_MD;
            else if (!strcmp(v, "csv")) a->fmt = SPEED_CSV;
            else if (!strcmp(v, "json")) a->fmt = SPEED_JSON;
            else { expect_error(err, errlen, f, v, "md, csv or json"); rc = -1; }
        } else rc = parse_set(a, base, v, err, errlen);
        if (rc < 0) return -1;
    }
    if (a->n_models == 0) a->models[a->n_models++] = SESSION_DEFAULT_MODEL;
    bool any = false;
    for (int i = 0; i < a->p.n; i++) any |= a->p.v[i] > 0;
    for (int i = 0; i < a->n.n; i++) any |= a->n.v[i] > 0;
    if (!any && !a->help) {
        expect_error(err, errlen, "-p/-n", NULL, "at least one non-zero prompt or generation size");
        return -1;
    }
    return 0;
}

