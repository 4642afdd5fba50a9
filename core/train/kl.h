/* core/train/kl.h — the distillation loss: forward KL(teacher ‖ student) on
 * the teacher's next-token distribution at temperature τ.
 *
 * A target keeps the teacher's k most likely tokens with their probabilities
 * p_i = softmax(z_t/τ)_i and the tail mass p_tail = 1 − Σ_k p_i (k = vocab:
 * the full distribution, p_tail = 0). With q = softmax(z_s/τ) and
 * q_tail = 1 − Σ_k q_i the loss per position is
 *     KL = Σ_k p_i log(p_i/q_i) + p_tail log(p_tail/q_tail)
 * (exact with the full vocabulary; with top-k it is the KL between the two
 * distributions coarsened to k+1 outcomes, a lower bound of the full one) and
 * training minimises τ²·KL (Hinton et al.), whose gradient in z_s is
 * τ·(q − p̃): p̃_i = p_i on the k tokens, p_tail·q_j/q_tail elsewhere. */
#ifndef INFERTOP_TRAIN_KL_H
#define INFERTOP_TRAIN_KL_H

#include <stddef.h>
#include <stdint.h>

struct kl_targets {
    int k;                    /* tokens kept per position (= vocab: all) */
    size_t n;                 /* positions */
    int32_t *ids;             /* [n][k], most likely first */
    float *p;                 /* [n][k] */
    float *tail;              /* [n] */
};

/* 0 ok; -1 out of memory. */
int  kl_targets_alloc(struct kl_targets *t, size_t n, int k);
void kl_targets_free(struct kl_targets *t);

/* Position i's target from the teacher's logits z[vocab] at temperature tau. */
void kl_target_set(struct kl_targets *t, size_t i, const float *z, int vocab, float tau);

/* KL(p ‖ q) of position i against student logits z[vocab] (nats, at tau).
 * When dz is not NULL it receives scale·τ·(q − p̃) (the gradient of
 * scale·τ²·KL). */
double kl_position(const struct kl_targets *t, size_t i, const float *z, int vocab, float tau,
                   float *dz, float scale);

#endif
