/* core/train/adamw.h — AdamW (Loshchilov & Hutter; PyTorch's order: decay,
 * then the Adam step) with linear warmup, cosine decay and global gradient-
 * norm clipping.
 *
 * Step t (1-based), gradient g already clipped:
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
 *   p = p − lr_t·wd·p;    p = p − lr_t · (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps)
 * lr_t: lr·t/warmup while t <= warmup, then
 *   min_lr + (lr − min_lr)·(1 + cos(π·(t−warmup)/(total−warmup)))/2. */
#ifndef INFERTOP_TRAIN_ADAMW_H
#define INFERTOP_TRAIN_ADAMW_H

#include <stddef.h>

struct adamw_cfg {
    float lr, min_lr, beta1, beta2, eps, weight_decay, clip;
    int warmup, total_steps;
};

/* lr of step t (1-based). */
double adamw_lr(const struct adamw_cfg *c, int t);
/* Global L2 norm of g[n] (double, fixed order). */
double grad_norm(const float *g, size_t n);
/* g *= clip/norm when norm > clip (clip > 0). Returns the factor applied. */
double grad_clip(float *g, size_t n, double norm, double clip);
/* One AdamW update of p[n] at step t (1-based) with learning rate lr and
 * weight decay wd (0 for norms). */
void adamw_update(float *p, const float *g, float *m, float *v, size_t n, const struct adamw_cfg *c,
                  int t, double lr, double wd);

#endif
