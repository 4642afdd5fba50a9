/* core/train/adamw.c — AdamW, the learning-rate schedule and clipping. */
#include "core/train/adamw.h"

#include <math.h>

double adamw_lr(const struct adamw_cfg *c, int t)
{
    if (c->warmup > 0 && t <= c->warmup) return (double)c->lr * t / c->warmup;
    int span = c->total_steps - c->warmup;
    if (span <= 0) return c->lr;
    double frac = (double)(t - c->warmup) / span;
    if (frac > 1) frac = 1;
    return c->min_lr + (c->lr - c->min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * frac));
}

double grad_norm(const float *g, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double grad_clip(float *g, size_t n, double norm, double clip)
{
    if (!(clip > 0) || !(norm > clip)) return 1.0;
    double f = clip / norm;
    for (size_t i = 0; i < n; i++) g[i] = (float)(g[i] * f);
    return f;
}

void adamw_update(float *p, const float *g, float *m, float *v, size_t n, const struct adamw_cfg *c,
                  int t, double lr, double wd)
{
    double b1 = c->beta1, b2 = c->beta2;
    double bc1 = 1.0 - pow(b1, t), bc2 = 1.0 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
        m[i] = (float)(b1 * m[i] + (1.0 - b1) * g[i]);
        v[i] = (float)(b2 * v[i] + (1.0 - b2) * (double)g[i] * g[i]);
        double pi = p[i] - lr * wd * p[i];
        pi -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + c->eps);
        p[i] = (float)pi;
    }
}
