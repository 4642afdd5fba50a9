/* core/spec/spec_verify.c — the acceptance rules and the speedup model (spec.h). */
#include "core/spec/spec_impl.h"

#include <math.h>

/* The token rejection sampling emits at a rejected position: a draw from
 * norm(max(0, p - q)); q NULL = one-hot on x. When p - q has no positive mass
 * (p == q up to rounding: rejection then had probability 0) a draw from p. */
static int32_t residual_draw(struct sampler *smp, const float *p, const float *q, int32_t x, int V, float *w)
{
    for (int i = 0; i < V; i++) {
        float d = p[i] - (q ? q[i] : (i == x ? 1.0f : 0.0f));
        w[i] = d > 0 ? d : 0;
    }
    int32_t t = sampler_pick(smp, w, V);
    return t >= 0 ? t : sampler_pick(smp, p, V);
}

int spec_accept(struct sampler *smp, const float *rows, int V, const int32_t *draft, int n_draft,
                const float *q, float *p, float *w, int32_t *emit)
{
    for (int j = 0; j < n_draft; j++) {
        const float *row = rows + (size_t)j * V;
        int32_t x = draft[j];
        if (smp->temperature <= 0) {
            emit[j] = sampler_argmax(row, V);
            if (emit[j] != x) return j + 1;
            continue;
        }
        sampler_probs(smp, row, p);
        const float *qj = q ? q + (size_t)j * V : NULL;
        float px = p[x], qx = qj ? qj[x] : 1.0f;
        /* keep x with probability min(1, p(x)/q(x)): u < p/q with u uniform in [0, 1) */
        if (qx > 0 && sampler_uniform(smp) * qx < px) { emit[j] = x; continue; }
        emit[j] = residual_draw(smp, p, qj, x, V, w);
        return j + 1;
    }
    emit[n_draft] = sampler_sample(smp, rows + (size_t)n_draft * V);   /* every draft kept: the bonus token */
    return n_draft + 1;
}

int32_t spec_pick_draft(struct sampler *smp, const float *row, float *q_row)
{
    if (smp->temperature <= 0) return sampler_argmax(row, smp->vocab);
    sampler_probs(smp, row, q_row);
    return sampler_pick(smp, q_row, smp->vocab);
}

double spec_expected_tokens(double alpha, int k)
{
    if (alpha >= 1) return k + 1;
    if (alpha <= 0) return 1;
    return (1 - pow(alpha, k + 1)) / (1 - alpha);
}

double spec_predicted_speedup(double alpha, int k, double c)
{
    return spec_expected_tokens(alpha, k) / (k * c + 1);
}
