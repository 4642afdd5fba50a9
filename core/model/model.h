/* core/model/model.h — Llama-family model: config, weights, presets.
 *
 * One struct for every source: `synth:NAME` presets with deterministic
 * pseudo-random weights (core/model/model.c) and GGUF files (core/model/model_gguf.c).
 * Attention variants come from n_kv_heads: == n_heads MHA, 1 MQA, else GQA. */
#ifndef INFERTOP_MODEL_H
#define INFERTOP_MODEL_H

#include "kernels/backend.h"

struct model_config {
    char name[64];            /* "smollm2-135m", or the GGUF general.name */
    char arch[16];            /* "llama" */
    int dim;                  /* hidden size */
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;             /* usually dim / n_heads */
    int ffn_dim;              /* SwiGLU hidden size */
    int vocab;
    int max_ctx;              /* trained context length */
    float norm_eps;
    struct rope_params rope;
    bool tied_output;         /* output head reuses tok_embd */
};

struct layer_weights {
    float *attn_norm;         /* [dim] f32, host */
    float *ffn_norm;          /* [dim] */
    struct weight wq;         /* [n_heads*head_dim][dim] */
    struct weight wk;         /* [n_kv_heads*head_dim][dim] */
    struct weight wv;         /* [n_kv_heads*head_dim][dim] */
    struct weight wo;         /* [dim][n_heads*head_dim] */
    struct weight w_gate;     /* [ffn_dim][dim] */
    struct weight w_up;       /* [ffn_dim][dim] */
    struct weight w_down;     /* [dim][ffn_dim] */
};

struct tokenizer;             /* core/model/tokenizer.h; NULL for synth models */

struct model {
    struct model_config cfg;
    enum dtype wtype;         /* format of the big matrices ("mixed" GGUF: the most common) */
    struct weight tok_embd;   /* [vocab][dim] */
    struct weight output;     /* [vocab][dim]; shares data with tok_embd when tied */
    float *output_norm;       /* [dim] */
    struct layer_weights *layers;
    struct tokenizer *tok;
    char source[256];         /* "synth:tiny seed=1" or the file path */
    bool shapes_only;         /* weights have shapes and formats but data == NULL: plan and
                                 simulated devices only; forward_init refuses such a model */
    size_t owned_bytes;       /* heap bytes of weights and norms the model allocated itself
                                 (synth; 0 for GGUF, whose tensors stay in the mapping) */
    /* release hooks: synth models own malloc'd buffers, GGUF models an mmap */
    void *owner;
    void (*release)(struct model *m);
    char wformat[64];         /* the layer matrices' formats after transforms, per layer group
                                 where they differ ("int4_g32", "int4_g64, down int4_g128");
                                 empty: as loaded (wtype) */
};

/* A preset shape. */
struct model_preset {
    const char *name;
    const char *about;
    struct model_config cfg;
};

const struct model_preset *model_presets(int *n);
const struct model_preset *model_preset_find(const char *name);

/* KV bytes per token by the seed's formula: 2 × layers × kv_heads × head_dim × bytes. */
double model_kv_bytes_per_token(const struct model_config *c, double bytes_per_elem);
/* Parameter count and weight bytes if every matrix were stored as `t`
 * (norms stay f32). */
double model_param_count(const struct model_config *c);
double model_weight_bytes(const struct model_config *c, enum dtype t);

/* Build a synthetic model: same (preset, seed, wtype) → bit-identical weights
 * on every machine. Weights are scaled so activations stay O(1) over many
 * layers. Returns 0, or -1 with a message in err. */
int model_synth(struct model *m, const struct model_config *cfg, enum dtype wtype, uint64_t seed,
                int n_threads, char *err, size_t errlen);

enum model_flags {
    MODEL_SHAPES_ONLY = 1u << 0,   /* every weight gets its shape and format, no data, no norms */
};
/* model_synth with flags (enum model_flags). MODEL_SHAPES_ONLY builds any
 * preset (synth:llama2-70b included) in O(layers) bytes: m->shapes_only is
 * set, weight data and norm pointers are NULL. */
int model_synth_flags(struct model *m, const struct model_config *cfg, enum dtype wtype, uint64_t seed,
                      int n_threads, unsigned flags, char *err, size_t errlen);

/* Format of a synthetic matrix with `cols` inputs when `t` is asked for
 * (block formats fall back when cols is not a multiple of their block). */
enum dtype synth_matrix_type(enum dtype t, int cols);

/* Load "synth:NAME" or a .gguf path. 0 ok; -1 with "file: field: expected" in err. */
int model_load(struct model *m, const char *spec, enum dtype synth_wtype, uint64_t seed,
               int n_threads, char *err, size_t errlen);
/* model_load with enum model_flags: MODEL_SHAPES_ONLY gives a synth: model
 * its shapes only; a GGUF file is mapped, its header read, its weights never
 * touched unless run (the mapping costs no memory until then). */
int model_load_flags(struct model *m, const char *spec, enum dtype synth_wtype, uint64_t seed,
                     int n_threads, unsigned flags, char *err, size_t errlen);
/* Implemented in core/model/model_gguf.c. */
int model_load_gguf(struct model *m, const char *path, char *err, size_t errlen);
/* Same over a caller-owned GGUF image (tests, fuzzing): the weights point into
 * buf, which must outlive the model; `name` is used in errors and m->source. */
int model_load_gguf_buffer(struct model *m, const void *buf, size_t len, const char *name,
                           char *err, size_t errlen);
void model_free(struct model *m);

/* Upload every weight to the backend (no-op on CPU). -1 when a copy fails or
 * the model has shapes only (nothing to copy). */
int model_upload(struct model *m, struct backend *be);

#endif
