/* core/workload/workload.h — the timed requests a scenario generates
 * (scenario.h parses the file).
 *
 * Same scenario, vocab and capacity → a byte-identical workload on every
 * machine (core/rng.h). Errors are one line: "file:line: key: what was
 * expected". */
#ifndef INFERTOP_WORKLOAD_H
#define INFERTOP_WORKLOAD_H

#include "core/workload/scenario.h"

/* One generated request. */
struct request_spec {
    int id;                             /* 0..n-1 in arrival order */
    double arrival_s;                   /* seconds after the workload starts; non-decreasing */
    int32_t *prompt;                    /* [prompt_len] token ids; points into workload.tokens */
    int prompt_len;                     /* prefix_len + own tokens */
    int prefix_len;                     /* leading tokens shared with its group; 0 if none */
    int group;                          /* shared-prefix group, -1 if none */
    int max_output;                     /* tokens to generate */
};

struct workload {
    int n;
    struct request_spec *reqs;          /* [n] */
    int32_t *tokens;                    /* [n_tokens] all prompts, back to back */
    long n_tokens;                      /* = Σ prompt_len */
    long n_output;                      /* = Σ max_output */
    double rate_req_s;                  /* resolved absolute rate; 0 for process = all */
    int token_lo, token_hi;             /* prompt ids drawn from [token_lo, token_hi) */
};

/* The token ids prompts are drawn from for a vocabulary of `vocab` ids: skips
 * the low ids where tokenizers keep control and byte tokens. */
void workload_token_range(int vocab, int *lo, int *hi);

/* Generate the requests. vocab: the model's vocabulary size (>= 16);
 * capacity_req_s: measured saturation rate, used only by relative rates (pass 0
 * otherwise). Returns 0, or -1 with one line in err and *w zeroed (nothing to
 * free). On success free with workload_free. */
int workload_generate(const struct scenario *sc, int vocab, double capacity_req_s,
                      struct workload *w, char *err, size_t errlen);

/* Release a workload; safe on a zeroed or already freed one. */
void workload_free(struct workload *w);

#endif
