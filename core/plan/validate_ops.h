/* core/plan/validate_ops.h — the op-kind table of `plan --validate`: the
 * per-class errors (validate.h) say THAT matmul or norm is off; this says
 * which op of the class, at which shape and row count. A kind is a kernel
 * record's name plus, for a matmul, its weight shape N×K and a bucket of x
 * rows m, for attention a bucket of queries (the profile reads both
 * differently by size: kernels/roof_profile.c), for the small ops a bucket
 * of elements. Each kind sums predicted and measured seconds per phase of
 * the step (decode-only, with prefill), as the class table does. */
#ifndef INFERTOP_VALIDATE_OPS_H
#define INFERTOP_VALIDATE_OPS_H

#include "kernels/backend.h"

#include <stdint.h>

struct validate_class { double pred_s, meas_s; int count; };

/* Phases of a step, for the per-class table: decode-only steps and steps
 * with prefill tokens (alone or mixed with decodes). */
enum validate_phase { VP_DECODE, VP_PREFILL, VP_COUNT };

struct validate_kind {
    char name[24];              /* the record's: "matmul_q8_0", "attn_flash", "rmsnorm" */
    enum op_class cls;
    int64_t n, k;               /* matmul: weight rows N, columns K; 0 otherwise */
    int64_t lo;                 /* the bucket's smallest size: m (matmul), n_q (attention), elements (else) */
    struct validate_class ph[VP_COUNT];
};

struct validate_kinds {
    struct validate_kind *k;
    int n, cap;
};

/* The bucket's smallest size for a size x >= 1: 1, 2, 5, 17, 65, 513 for
 * rows and queries (1 / 2-4 / 5-16 / 17-64 / 65-512 / more), powers of 16
 * for elements (1, 16, 256, 4096, ...). */
int64_t validate_rows_bucket(int64_t x);
int64_t validate_elems_bucket(int64_t x);

/* Add one record's predicted and measured seconds to its kind in t (made on
 * first sight). 0 ok; -1 out of memory (t unchanged). */
int validate_kinds_add(struct validate_kinds *t, const struct kernel_record *r, enum validate_phase ph, double pred_s,
                       double meas_s);

/* Sort t's kinds by measured seconds in phase ph, largest first. */
void validate_kinds_sort(struct validate_kinds *t, enum validate_phase ph);

/* "1536x576 m 2-4", "n_q 1", "elems 256-4095" into out: the kind's key
 * beside its name. */
const char *validate_kind_key(const struct validate_kind *k, char *out, size_t n);

void validate_kinds_free(struct validate_kinds *t);

#endif
