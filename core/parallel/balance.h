/* core/parallel/balance.h — where the pipeline's stage boundaries go.
 *
 * pp_balance=layers: stage s runs layers [L·s/pp, L·(s+1)/pp) (even counts).
 * pp_balance=time: each layer's matmuls (wq wk wv wo w_gate w_up w_down) and
 * the head's are timed on the backend over a probe of a few rows, and the
 * layers are split into pp contiguous stages minimizing the slowest stage's
 * measured time (the first stage also pays the embedding, the last the head
 * and final norm). Attention is not in the probe (its time depends on the
 * context, and it is the same per layer): the balance is of measured matmul
 * time, which is what makes a stage with a large vocabulary head slow. */
#ifndef INFERTOP_PAR_BALANCE_H
#define INFERTOP_PAR_BALANCE_H

#include "core/model/model.h"
#include "kernels/backend.h"

/* Contiguous split of layers [0, L) into pp stages of >= 1 layer each
 * minimizing the largest stage cost: stage cost = sum of its layers' cost[l],
 * + first_extra on stage 0, + last_extra on stage pp - 1. Exact (dynamic
 * programming; ties: the first split found).
 * l0[s], l1[s] get the ranges. 0 ok; -1 when pp < 1 or pp > L. */
int par_balance_split(const double *cost, int L, double first_extra, double last_extra, int pp, int *l0, int *l1);

/* Measured seconds (best of `reps`) of each layer's matmuls on `rows` probe
 * rows on be (layer_s[L]), of the embedding lookup (*embed_s) and of the head
 * matmul (*head_s). The weights must be runnable on be. 0 ok; -1 on out of
 * memory (message in err). */
int par_measure_costs(struct backend *be, const struct model *m, int rows, int reps, double *layer_s,
                      double *embed_s, double *head_s, char *err, size_t errlen);

#endif
