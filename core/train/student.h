/* core/train/student.h — the student: a Llama-family model held as one flat
 * f32 parameter vector, with a training forward that keeps what the backward
 * needs and the backward itself.
 *
 * Parameter layout (floats, in this order; tensor shapes as in struct model):
 *   per layer l: attn_norm [dim], wq [H·hd][dim], wk [KVH·hd][dim],
 *                wv [KVH·hd][dim], wo [dim][H·hd], ffn_norm [dim],
 *                w_gate [ffn][dim], w_up [ffn][dim], w_down [dim][ffn]
 *   output_norm [dim]
 *   tok_embd [vocab][dim]   (last, so a frozen embedding is the vector's tail)
 * The output head is tied to tok_embd (llama.cpp uses token_embd when a file
 * has no output.weight). */
#ifndef INFERTOP_TRAIN_STUDENT_H
#define INFERTOP_TRAIN_STUDENT_H

#include "core/model/model.h"

#include <stddef.h>
#include <stdint.h>

enum { ST_ATTN_NORM, ST_WQ, ST_WK, ST_WV, ST_WO, ST_FFN_NORM, ST_WGATE, ST_WUP, ST_WDOWN, ST_PER_LAYER };

struct student {
    struct model_config cfg;      /* name, arch "llama", shape, rope, eps, vocab, tied_output */
    size_t n_params;
    size_t layer_off[ST_PER_LAYER];   /* offsets inside one layer */
    size_t layer_size;                /* floats per layer */
    size_t out_norm_off, embd_off;
    float *p;                     /* [n_params] */
};

/* Parse SHAPE: a preset "LxD" (layers × dim: heads = dim/64, kv heads =
 * heads/3 when divisible, else heads; ffn = round_up(8·dim/3, 64); when dim
 * equals the teacher's, heads/kv heads/ffn are the teacher's) or keys
 * "layers=2,dim=576,heads=9,kv_heads=3,ffn=1536" (missing keys as the preset
 * rules give). vocab, rope, eps and context come from the teacher.
 * 0 ok; -1 with "SHAPE: field: expected" in err. */
int student_shape(struct model_config *out, const char *shape, const struct model_config *teacher,
                  char *err, size_t errlen);

/* Allocate the parameters for cfg (zeroed). 0 ok; -1 out of memory. */
int  student_alloc(struct student *s, const struct model_config *cfg);
void student_free(struct student *s);

/* Random init: N(0, 0.02) matrices (w_down and wo scaled by 1/sqrt(2·layers)),
 * norms 1; same seed → same bits. */
void student_init_random(struct student *s, uint64_t seed);
/* Truncate init: copy teacher layers layers[0..n) into the student's layers
 * (n == student layers), the teacher's embedding and output norm; shapes must
 * match the teacher's. 0 ok; -1 with a message naming the mismatch. */
int  student_init_truncate(struct student *s, const struct model *teacher, const int *layers,
                           char *err, size_t errlen);

static inline float *student_layer(const struct student *s, int l, int which)
{
    return s->p + (size_t)l * s->layer_size + s->layer_off[which];
}

/* Everything the backward needs, for B sequences of T tokens. */
struct student_acts {
    int B, T, N;                  /* N = B·T */
    int *pos;                     /* [N] */
    int32_t *tok;                 /* [N] */
    float *x;                     /* [L+1][N][dim] residual stream entering layer l; [L] = final */
    float *xmid;                  /* [L][N][dim] after attention */
    float *n1, *n2, *r1, *r2;     /* normed inputs [L][N][dim], rstd [L][N] */
    float *q, *k, *v, *att, *P;   /* [L][N][qd|kvd|kvd|qd], P [L][B][H][T][T] */
    float *g, *u, *h;             /* [L][N][ffn] */
    float *nf, *rf;               /* final norm [N][dim], [N] */
    float *logits;                /* [N][vocab] */
    /* backward scratch */
    float *dx, *dn, *dq, *dk, *dv, *datt, *dg, *du, *dh, *dlogits;
};

int  student_acts_alloc(struct student_acts *a, const struct model_config *cfg, int B, int T);
void student_acts_free(struct student_acts *a);

/* Forward of tokens [B][T] (positions 0..T-1 each): fills a, a->logits. */
void student_forward(const struct student *s, struct student_acts *a, const int32_t *tokens);
/* Backward from a->dlogits [N][vocab]: grad [n_params] += ∂L/∂p. With
 * train_embd false the embedding's gradient is not computed (grad may then
 * be sized to the trainable prefix, embd_off floats). */
void student_backward(const struct student *s, struct student_acts *a, float *grad, bool train_embd);

/* A struct model over the student's parameters (f32 weights pointing into
 * s->p, no tokenizer; model_free releases only the view). 0 ok; -1 out of memory. */
int  student_as_model(const struct student *s, struct model *m, char *err, size_t errlen);

#endif
