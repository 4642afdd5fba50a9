/* core/workload/speed.h — `infertop speed`: model throughput in llama-bench's
 * shape. Every combination of model × --set values × threads × batch ×
 * depth × {prompt sizes, generation sizes} is one test:
 *   pp<P> [@ d<D>]  P prompt tokens per sequence in chunks of SPEED_UBATCH
 *                   tokens (llama-bench's n_ubatch), after D tokens already
 *                   in the KV cache (filled once, untimed);
 *   tg<N> [@ d<D>]  N decode steps of one token per sequence after D cached
 *                   tokens.
 * With -b B > 1 the test runs B sequences at once (llama-batched-bench's
 * parallel sequences) and t/s counts the tokens of all of them (its S_PP /
 * S_TG). Each test runs one untimed warm-up, then -r timed repetitions; t/s
 * is reported as mean ± sample stddev over the repetitions.
 *
 * The forward runs directly on the model (core/model/forward.h) with one
 * contiguous KV buffer per sequence, no scheduler: like llama-bench, this
 * measures the model, not the serving loop. */
#ifndef INFERTOP_SPEED_H
#define INFERTOP_SPEED_H

#include "core/options/options.h"

#include <stdbool.h>
#include <stdio.h>

#define SPEED_MAX_LIST  16    /* values per list flag (-p, -n, -d, -t, -b, -m, one --set option) */
#define SPEED_MAX_SETS  8     /* distinct options swept by --set */
#define SPEED_MAX_VALUE 64    /* chars of one --set value */
#define SPEED_MAX_REPS  1000
#define SPEED_UBATCH    512   /* tokens per forward call in prefill */

enum speed_format { SPEED_MD, SPEED_CSV, SPEED_JSON };

struct speed_list { int v[SPEED_MAX_LIST]; int n; };

/* One swept option: --set "kv_dtype=f16,f32". */
struct speed_set {
    enum opt_id id;
    char values[SPEED_MAX_LIST][SPEED_MAX_VALUE];
    int n;
};

struct speed_args {
    const char *models[SPEED_MAX_LIST];
    int n_models;
    struct speed_list p, n, d, t, b;
    int reps;
    enum speed_format fmt;
    struct speed_set sets[SPEED_MAX_SETS];
    int n_sets;
    bool quiet;               /* -q: no progress on stderr */
    bool help;                /* -h / --help */
};

/* One measured test. */
struct speed_result {
    char model_filename[256], model_type[96], backend[96], cpu_info[128];
    double model_size, model_n_params;      /* bytes, count */
    int n_threads, n_prompt, n_gen, n_depth, n_seq;
    char set_values[SPEED_MAX_SETS][SPEED_MAX_VALUE];   /* this test's value of each --set option */
    char test[64];                          /* "pp512", "tg64 @ d512" */
    int reps;
    double samples_ns[SPEED_MAX_REPS];
    double avg_ns, stddev_ns, avg_ts, stddev_ts;
};

/* Parse argv (after "speed") into a: -m M[,M..] (repeatable), -p/-n/-d/-t/-b
 * comma lists of non-negative integers (-t, -b >= 1; -p/-n 0 = none of that
 * kind), -r N, -o md|csv|json, --set "name=v1,v2 name2=v" (repeatable; any
 * registry option except threads, which is -t; every value checked by the
 * registry), -q, -h/--help. Defaults as llama-bench: -p 512 -n 128 -d 0 -b 1
 * -r 5 -o md, -m synth:smollm2-135m, -t the THREADS option's value (0 =
 * the backend's default). 0 ok; -1 with one line in err naming the flag and
 * what it expects (exit 2). */
int speed_parse_args(int argc, char **argv, const struct options *base, struct speed_args *a,
                     char *err, size_t errlen);

/* The usage text. */
void speed_usage(FILE *out);

/* Run every test of a with options `base` (the command line's --set of
 * single values applied already), printing progress to log (NULL: none) and
 * each result to out as it completes in a->fmt. 0 ok; 2 bad input (a model
 * file, a swept option value that the model or backend refuses); 1 runtime
 * failure. One line in err. */
int speed_run(const struct speed_args *a, const struct options *base, FILE *out, FILE *log,
              char *err, size_t errlen);

/* Statistics of r->samples_ns[0..reps) into avg/stddev (ns and tokens/s,
 * tokens = (n_prompt or n_gen) × n_seq per sample). */
void speed_result_stats(struct speed_result *r);

#endif
