/* tui/cli.h — command-line front end: shared argument parsing and commands.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 bad input (option, file, flag). */
#ifndef INFERTOP_CLI_H
#define INFERTOP_CLI_H

#include "core/options/options.h"

#define EXIT_BAD_INPUT 2

struct cli_args {
    const char *cmd;
    const char *model;        /* --model; default synth:smollm2-135m */
    const char *draft;        /* --draft: spec=draft's model (GGUF or synth: preset, the target's vocabulary) */
    const char *prompt;       /* --prompt */
    const char *scenario;     /* --scenario */
    const char *json;         /* --json F */
    const char *trace;        /* --trace F.json: Chrome trace of the run */
    const char *nvtxt;        /* --nvtxt F.nvtxt: NVTXT of the run */
    bool nvtxt_raw;           /* --nvtxt-clock raw: ClockMonotonicRaw time base (merge); else manual */
    const char *record;       /* --record F: JSON Lines recording */
    const char *export_to;    /* replay --export F.json|F.nvtxt */
    int n_predict;            /* -n */
    const char *spec_a, *spec_b; /* ab: --a, --b */
    const char *scenario_set;  /* --scenario-set "section.key=v ..." */
    const char *text;         /* eval: --text F */
    int ctx, chunks;          /* eval: --ctx N, --chunks K (0: not given) */
    const char *ref_in;       /* eval: --ref F */
    const char *ref_out;      /* eval: --save-ref F */
    const char *eval_text;    /* ab: --eval F */
    bool chat;                /* --chat */
    bool quiet;               /* -q: no progress/stats chatter */
    /* distill */
    const char *teacher;      /* --teacher M */
    const char *student;      /* --student SHAPE */
    const char *output;       /* -o F */
    const char *data;         /* --data prompts[:F]|text:F */
    const char *init;         /* --init truncate|random */
    const char *resume;       /* --resume CKPT */
    long long tokens;         /* --tokens N (0: the default) */
    const char *gpu;          /* plan: --gpu NAME[xN] */
    int tp, pp, batch;        /* plan: --tp --pp --batch (0: not given); --ctx is `ctx` above */
    const char *budget;       /* plan: --budget SIZE (per device) */
    bool validate;            /* plan: --validate */
    int measure_traffic;      /* bench: --measure-traffic N (steps; 0: not asked) */
    struct options opt;       /* --set k=v, --device, --threads shortcuts */
    const char *positional[8];
    int n_positional;
};

/* Parse argv after the command name; then every output file named (--json,
 * --trace, --nvtxt, --record, --export) must be writable (outfile_check), so a
 * bad path fails before a long run. 0 ok; -1 with a message printed (exit 2). */
int cli_parse(int argc, char **argv, struct cli_args *a);

int cmd_generate(struct cli_args *a);
int cmd_options(struct cli_args *a);
int cmd_models(struct cli_args *a);
int cmd_scenarios(struct cli_args *a);
int cmd_bench(struct cli_args *a);
int cmd_ab(struct cli_args *a);
int cmd_tui(struct cli_args *a);
int cmd_keys(struct cli_args *a);
int cmd_replay(struct cli_args *a);
int cmd_eval(struct cli_args *a);
int cmd_plan(struct cli_args *a);
/* Commands that parse their own flags (argv after the command name). */
int cmd_speed(int argc, char **argv);
int cmd_distill(struct cli_args *a);

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
