/* tui/cli.c — argument parsing shared by every command. */
#include "tui/cli.h"

#include "traces/outfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("infertop: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Value of a flag given as "--flag v" or "--flag=v"; advances *i. */
static const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    size_t n = strlen(flag);
    if (strncmp(argv[*i], flag, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

static bool is_flag(const char *arg, const char *flag)
{
    size_t n = strlen(flag);
    return strncmp(arg, flag, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

static int set_opt(struct cli_args *a, const char *key, const char *value)
{
    char err[256];
    if (options_set(&a->opt, key, value, err, sizeof err) < 0) {
        cli_error("%s", err);
        return -1;
    }
    return 0;
}

/* Options a command would ignore are refused (exit 2), never dropped:
 * generate uses OS_GEN ones; scenario runs (tui, bench, ab) check theirs,
 * scenario files included, in setup_load; replay and the listing commands
 * take none (a recording carries its own). */
static int check_options_used(const struct cli_args *a)
{
    char err[512];
    if (!strcmp(a->cmd, "tui") || !strcmp(a->cmd, "bench") || !strcmp(a->cmd, "ab")) return 0;
    if (!strcmp(a->cmd, "eval")) return 0;     /* cmd_eval checks its own (eval_check_options) */
    if (!strcmp(a->cmd, "plan")) {      /* the run options a plan (and --validate's runs) read */
        if (options_check_scope(&a->opt, OS_RUN, "plan", err, sizeof err) == 0) return 0;
        cli_error("%s", err);
        return -1;
    }
    if (!strcmp(a->cmd, "generate") || !strcmp(a->cmd, "distill")) {
        bool gen = !strcmp(a->cmd, "generate");
        if (options_check_scope(&a->opt, gen ? OS_GEN : OS_TRAIN, a->cmd, err, sizeof err) == 0) return 0;
        cli_error("%s", err);
        return -1;
    }
    for (int i = 0; i < OPT_COUNT; i++)
        if (a->opt.explicit_set[i]) {
            cli_error("%s: not used by %s (%s)", option_def((enum opt_id)i)->name, a->cmd,
                      !strcmp(a->cmd, "replay") ? "a recording replays with the options in its header"
                                                : "it takes no options");
            return -1;
        }
    return 0;
}

/* Eval's flags belong to eval (and --eval, --ctx, --chunks to ab): another
 * command would ignore them, so they are refused. */
static int check_eval_flags(const struct cli_args *a)
{
    bool eval = !strcmp(a->cmd, "eval"), ab = !strcmp(a->cmd, "ab"), plan = !strcmp(a->cmd, "plan");
    const char *bad = NULL;
    if (!eval && a->text) bad = "--text";
    else if (!eval && a->ref_in) bad = "--ref";
    else if (!eval && a->ref_out) bad = "--save-ref";
    else if (!ab && a->eval_text) bad = "--eval";
    else if (!eval && !(ab && a->eval_text) && !(plan && !a->chunks) && (a->ctx || a->chunks))
        bad = a->ctx && !plan ? "--ctx" : "--chunks";          /* plan takes --ctx (its context length) */
    if (!bad) return 0;
    cli_error("%s: not used by %s (it is a flag of eval%s)", bad, a->cmd,
              !strcmp(bad, "--eval") ? "'s A/B form, ab --eval F" : !strcmp(bad, "--ctx") || !strcmp(bad, "--chunks")
                  ? ", and of ab with --eval" : "");
    return -1;
}

/* A count flag's value: an integer in [lo, 1000000]. */
static int parse_count(const char *flag, const char *v, int lo, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || end == v || n < lo || n > 1000000) {
        cli_error("%s: expected an integer in [%d, 1000000], got '%s'", flag, lo, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* Before any run: a path that cannot be written fails now, not after the run. */
static int check_outputs(const struct cli_args *a)
{
    const char *flags[] = {"--json", "--trace", "--nvtxt", "--record", "--export", "-o", "--save-ref"};
    const char *paths[] = {a->json, a->trace, a->nvtxt, a->record, a->export_to, a->output, a->ref_out};
    char err[1400];
    for (int i = 0; i < (int)(sizeof paths / sizeof paths[0]); i++) {
        if (!paths[i]) continue;
        if (outfile_check(paths[i], err, sizeof err) < 0) { cli_error("%s %s", flags[i], err); return -1; }
    }
    return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *a)
{
    char err[256];
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
#define VALUE(flag) do { if (!(v = flag_value(argc, argv, &i, flag))) { \
            cli_error("%s: expected a value after it", flag); return -1; } } while (0)
        if (is_flag(arg, "--model")) { VALUE("--model"); a->model = v; }
        else if (is_flag(arg, "--draft")) { VALUE("--draft"); a->draft = v; }
        else if (is_flag(arg, "--prompt")) { VALUE("--prompt"); a->prompt = v; }
        else if (is_flag(arg, "--scenario-set")) { VALUE("--scenario-set"); a->scenario_set = v; }
        else if (is_flag(arg, "--scenario")) { VALUE("--scenario"); a->scenario = v; }
        else if (is_flag(arg, "--json")) { VALUE("--json"); a->json = v; }
        else if (is_flag(arg, "--trace")) { VALUE("--trace"); a->trace = v; }
        else if (is_flag(arg, "--nvtxt-clock")) {
            VALUE("--nvtxt-clock");
            if (strcmp(v, "manual") && strcmp(v, "raw")) {
                cli_error("--nvtxt-clock %s: expected manual (ImportNvtxt --cmd create) or raw "
                          "(ClockMonotonicRaw, for --cmd merge)", v);
                return -1;
            }
            a->nvtxt_raw = !strcmp(v, "raw");
        } else if (is_flag(arg, "--nvtxt")) { VALUE("--nvtxt"); a->nvtxt = v; }
        else if (is_flag(arg, "--record")) { VALUE("--record"); a->record = v; }
        else if (is_flag(arg, "--export")) { VALUE("--export"); a->export_to = v; }
        else if (is_flag(arg, "--teacher")) { VALUE("--teacher"); a->teacher = v; }
        else if (is_flag(arg, "--student")) { VALUE("--student"); a->student = v; }
        else if (strcmp(arg, "-o") == 0 || is_flag(arg, "--output")) {
            VALUE(arg[1] == 'o' ? "-o" : "--output");
            a->output = v;
        } else if (is_flag(arg, "--data")) { VALUE("--data"); a->data = v; }
        else if (is_flag(arg, "--init")) { VALUE("--init"); a->init = v; }
        else if (is_flag(arg, "--resume")) { VALUE("--resume"); a->resume = v; }
        else if (is_flag(arg, "--tokens")) {
            VALUE("--tokens");
            char *end;
            long long n = strtoll(v, &end, 10);
            if (*end == 'k' || *end == 'K') { n *= 1000; end++; }
            if (*end || end == v || n < 1 || n > 1000000000000LL) {
                cli_error("--tokens: expected a token count in [1, 1e12] (k suffix ok), got '%s'", v);
                return -1;
            }
            a->tokens = n;
        }
        else if (is_flag(arg, "--a")) { VALUE("--a"); a->spec_a = v; }
        else if (is_flag(arg, "--text")) { VALUE("--text"); a->text = v; }
        else if (is_flag(arg, "--eval")) { VALUE("--eval"); a->eval_text = v; }
        else if (is_flag(arg, "--ref")) { VALUE("--ref"); a->ref_in = v; }
        else if (is_flag(arg, "--save-ref")) { VALUE("--save-ref"); a->ref_out = v; }
        else if (is_flag(arg, "--ctx")) { VALUE("--ctx"); if (parse_count("--ctx", v, 2, &a->ctx)) return -1; }
        else if (is_flag(arg, "--chunks")) { VALUE("--chunks"); if (parse_count("--chunks", v, 1, &a->chunks)) return -1; }
        else if (is_flag(arg, "--b")) { VALUE("--b"); a->spec_b = v; }
        else if (is_flag(arg, "--device")) { VALUE("--device"); if (set_opt(a, "device", v)) return -1; }
        else if (is_flag(arg, "--threads")) { VALUE("--threads"); if (set_opt(a, "threads", v)) return -1; }
        else if (is_flag(arg, "--set")) {
            VALUE("--set");
            if (options_set_list(&a->opt, v, err, sizeof err) < 0) { cli_error("--set %s", err); return -1; }
        } else if (strcmp(arg, "-n") == 0 || is_flag(arg, "--n-predict")) {
            VALUE(arg[1] == 'n' ? "-n" : "--n-predict");
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || end == v || n < 1 || n > 1000000) {
                cli_error("-n: expected a token count in [1, 1000000], got '%s'", v);
                return -1;
            }
            a->n_predict = (int)n;
        } else if (is_flag(arg, "--tp") || is_flag(arg, "--pp") || is_flag(arg, "--batch") || is_flag(arg, "--ctx")) {
            char flag[16];
            snprintf(flag, sizeof flag, "%.*s", (int)strcspn(arg, "="), arg);
            VALUE(flag);
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || end == v || n < 1 || n > 1048576) {
                cli_error("%s: expected a count in [1, 1048576], got '%s'", flag, v);
                return -1;
            }
            int *dst = !strcmp(flag, "--tp") ? &a->tp : !strcmp(flag, "--pp") ? &a->pp
                     : !strcmp(flag, "--batch") ? &a->batch : &a->ctx;
            *dst = (int)n;
        } else if (is_flag(arg, "--gpu")) { VALUE("--gpu"); a->gpu = v; }
        else if (is_flag(arg, "--measure-traffic")) {
            VALUE("--measure-traffic");
            if (parse_count("--measure-traffic", v, 1, &a->measure_traffic)) return -1;
        }
        else if (is_flag(arg, "--budget")) { VALUE("--budget"); a->budget = v; }
        else if (strcmp(arg, "--validate") == 0) a->validate = true;
        else if (strcmp(arg, "--chat") == 0) a->chat = true;
        else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) a->quiet = true;
        else if (arg[0] == '-' && arg[1]) {
            cli_error("%s: unknown flag for '%s' (see `infertop help`)", arg, a->cmd);
            return -1;
        } else if (a->n_positional < (int)(sizeof a->positional / sizeof a->positional[0])) {
            a->positional[a->n_positional++] = arg;
        } else {
            cli_error("%s: too many arguments", arg);
            return -1;
        }
#undef VALUE
    }
    if (check_eval_flags(a) < 0) return -1;
    return check_options_used(a) < 0 ? -1 : check_outputs(a);
}
