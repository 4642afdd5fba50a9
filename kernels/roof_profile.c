/* kernels/roof_profile.c — an op's time from a measured operator profile
 * (struct roof_profile, kernels/roofline.h): the host row's own kernels timed
 * at a few sizes, read back by interpolation. */
#include "kernels/roofline.h"
#include "kernels/tiling.h"

#include <string.h>

const int ROOF_MM_ROWS[ROOF_MM_ROWS_N] = {1, 2, 4, 8, 16, 64, 128, 512};
/* K: a small model's hidden size up to a 7-8B one's; N: GQA's K/V projections
 * (128) to the MLP's rows, plus the long-N point for a vocabulary head */
const int ROOF_MM_K[ROOF_MM_NK] = {512, 1536, 4096};
const int ROOF_MM_N[ROOF_MM_NN] = {128, 1024, 4096};
const double ROOF_SMALL_ELEMS[ROOF_SMALL_N] = {256, 4096, 65536, 1048576};
const double ROOF_ROPE_TOKENS[ROOF_SMALL_N] = {1, 16, 256, 2048};

int roof_mm_row_index(int m)
{
    for (int i = 0; i < ROOF_MM_ROWS_N; i++)
        if (ROOF_MM_ROWS[i] == m) return i;
    return -1;
}

const char *roof_small_name(enum roof_small_op k)
{
    static const char *const N[RSO_COUNT] = {"rmsnorm", "swiglu", "add", "kv_store", "embed", "rope_h1", "rope_h8"};
    return (unsigned)k < RSO_COUNT ? N[k] : "?";
}

int roof_attn_kind(enum attn_impl impl, enum dtype kv_type, int n_q)
{
    return (impl == ATTN_FLASH ? 4 : 0) + (kv_type == DT_F16 ? 2 : 0) + (n_q >= ATTN_TILE_Q ? 1 : 0);
}

const char *roof_attn_kind_name(int kind)
{
    static const char *const N[ROOF_ATTN_KINDS] = {
        "naive_f32_decode", "naive_f32_prefill", "naive_f16_decode", "naive_f16_prefill",
        "flash_f32_decode", "flash_f32_prefill", "flash_f16_decode", "flash_f16_prefill"};
    return kind >= 0 && kind < ROOF_ATTN_KINDS ? N[kind] : "?";
}

/* y at x on the polyline through (xs[i], ys[i]), i < n, xs increasing: ys[0]
 * below xs[0] (a smaller op costs at least the smallest one measured), the
 * last segment's slope beyond xs[n-1]. 0 when any point is missing. */
static double polyline(const double *xs, const double *ys, int n, double x)
{
    for (int i = 0; i < n; i++)
        if (!(ys[i] > 0)) return 0;
    if (x <= xs[0]) return ys[0];
    int i = 1;
    while (i < n - 1 && x > xs[i]) i++;
    double f = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
    double y = ys[i - 1] + f * (ys[i] - ys[i - 1]);
    return y > 0 ? y : ys[i - 1];
}

void roof_mm_shape(int s, int *k, int *n)
{
    *k = s < ROOF_MM_GRID ? ROOF_MM_K[s / ROOF_MM_NN] : ROOF_MM_LONG_K;
    *n = s < ROOF_MM_GRID ? ROOF_MM_N[s % ROOF_MM_NN] : ROOF_MM_LONG_N;
}

/* Seconds per weight element at profile shape s and m rows: linear between
 * probe rows; beyond the last (512 rows) ∝ m. */
static double rows_elem_s(const double *g, double m)
{
    double rows[ROOF_MM_ROWS_N];
    for (int i = 0; i < ROOF_MM_ROWS_N; i++) rows[i] = ROOF_MM_ROWS[i];
    double last = rows[ROOF_MM_ROWS_N - 1];
    if (m > last) return g[ROOF_MM_ROWS_N - 1] > 0 ? g[ROOF_MM_ROWS_N - 1] * m / last : 0;
    return polyline(rows, g, ROOF_MM_ROWS_N, m);
}

/* Segment i and fraction f of x (1/size) on the reciprocals of grid[0..n)
 * (increasing sizes: decreasing reciprocals), x clamped to them. */
static void recip_segment(const int *grid, int n, double x, int *i, double *f)
{
    double lo = 1.0 / grid[n - 1], hi = 1.0 / grid[0];
    x = x < lo ? lo : x > hi ? hi : x;
    int j = 0;
    while (j < n - 2 && x < 1.0 / grid[j + 1]) j++;
    *i = j;
    *f = (1.0 / grid[j] - x) / (1.0 / grid[j] - 1.0 / grid[j + 1]);
}

double roof_mm_elem_s(const struct roof_profile *p, enum dtype t, double k, double n, double m)
{
    if ((unsigned)t >= DT_COUNT || !(k > 0 && n > 0 && m > 0)) return 0;
    double g[ROOF_MM_SHAPES];
    for (int s = 0; s < ROOF_MM_SHAPES; s++)
        if (!((g[s] = rows_elem_s(p->mm_elem_s[t][s], m)) > 0)) return 0;
    int i, j;
    double fu, fv;
    recip_segment(ROOF_MM_K, ROOF_MM_NK, 1 / k, &i, &fu);
    recip_segment(ROOF_MM_N, ROOF_MM_NN, 1 / n, &j, &fv);
#define G(a, b) g[(a) * ROOF_MM_NN + (b)]
    double y = (1 - fu) * ((1 - fv) * G(i, j) + fv * G(i, j + 1)) + fu * ((1 - fv) * G(i + 1, j) + fv * G(i + 1, j + 1));
    if (n > ROOF_MM_N[ROOF_MM_NN - 1]) {
        /* the long-N tail: its difference at the point's K, linear in 1/N */
        double nmax = ROOF_MM_N[ROOF_MM_NN - 1];
        int li;
        double lf;
        recip_segment(ROOF_MM_K, ROOF_MM_NK, 1.0 / ROOF_MM_LONG_K, &li, &lf);
        double at_nmax = (1 - lf) * G(li, ROOF_MM_NN - 1) + lf * G(li + 1, ROOF_MM_NN - 1);
        double edge = (1 - fu) * G(i, ROOF_MM_NN - 1) + fu * G(i + 1, ROOF_MM_NN - 1);
        double w = (1 / nmax - 1 / n) / (1 / nmax - 1.0 / ROOF_MM_LONG_N);
        y += (g[ROOF_MM_GRID] - at_nmax) * w;
        if (y < 0.5 * edge) y = 0.5 * edge;
    }
#undef G
    return y;
}

/* The profile row of a small op's record name; -1 when it has none. */
static int small_kind(const char *name)
{
    static const char *const N[] = {"rmsnorm", "swiglu", "add", "kv_store", "embed"};
    for (int k = 0; k < (int)(sizeof N / sizeof N[0]); k++)
        if (strcmp(name, N[k]) == 0) return k;
    return -1;
}

/* rope on shape {elems, tokens, heads, head_dim}: both tables at its tokens
 * (for probe heads of 64, so scaled to its head_dim), linear in heads. */
static double rope_s(const struct roof_profile *p, const struct kernel_record *r)
{
    double tokens = (double)r->shape[1], heads = (double)r->shape[2], d = (double)r->shape[3];
    if (!(tokens > 0 && heads > 0 && d > 0)) return 0;
    double t1 = polyline(ROOF_ROPE_TOKENS, p->small_s[RSO_ROPE_1], ROOF_SMALL_N, tokens * d / 64);
    double th = polyline(ROOF_ROPE_TOKENS, p->small_s[RSO_ROPE_H], ROOF_SMALL_N, tokens * d / 64);
    if (!(t1 > 0 && th > 0)) return 0;
    double t = t1 + (th - t1) * (heads - 1) / (ROOF_ROPE_HEADS - 1);
    return t > 0 ? t : t1;
}

/* Attention of kind k, n_q queries, `flops`: fixed + flops · per_flop; a
 * prefill kind's both linear in n_q between its two probes (clamped). */
static double attn_s(const struct roof_profile *p, int k, double n_q, double flops)
{
    double fixed = p->attn_fixed_s[k], per = p->attn_flop_s[k];
    if (!(per > 0)) return 0;
    if ((k & 1) && p->attn_wide_flop_s[k] > 0) {
        double f = (n_q - ROOF_ATTN_PREFILL_Q) / (ROOF_ATTN_WIDE_Q - ROOF_ATTN_PREFILL_Q);
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        fixed += f * (p->attn_wide_fixed_s[k] - fixed);
        per += f * (p->attn_wide_flop_s[k] - per);
    }
    return fixed + flops * per;
}

double roof_profile_time(const struct roof_device *d, const struct kernel_record *r, enum dtype fmt)
{
    const struct roof_profile *p = &d->prof;
    if (r->cls == OPC_MATMUL) {
        if ((unsigned)fmt >= DT_COUNT) return 0;
        /* weight elements from the FLOPs (2 per element per row): a record a
         * tensor-parallel plan scaled to one device's share counts that share */
        double m = (double)r->shape[0], k = (double)r->shape[2], elems = m > 0 ? r->flops / (2 * m) : 0;
        double g = k > 0 ? roof_mm_elem_s(p, fmt, k, elems / k, m) : 0;
        return g > 0 ? d->op_overhead_s + elems * g : 0;
    }
    if (r->cls == OPC_ATTN) {
        enum attn_impl impl = strncmp(r->name, "attn_naive", 10) == 0 ? ATTN_NAIVE : ATTN_FLASH;
        int k = roof_attn_kind(impl, fmt, (int)r->shape[0]);
        return attn_s(p, k, (double)r->shape[0], r->flops);
    }
    if (strcmp(r->name, "rope") == 0) return rope_s(p, r);
    int k = small_kind(r->name);
    return k < 0 ? 0 : polyline(ROOF_SMALL_ELEMS, p->small_s[k], ROOF_SMALL_N, (double)r->shape[0]);
}

void roof_profile_scale(struct roof_profile *p, double f)
{
    for (int t = 0; t < DT_COUNT; t++)
        for (int s = 0; s < ROOF_MM_SHAPES; s++)
            for (int i = 0; i < ROOF_MM_ROWS_N; i++) p->mm_elem_s[t][s][i] *= f;
    for (int k = 0; k < ROOF_ATTN_KINDS; k++) { p->attn_flop_s[k] *= f; p->attn_wide_flop_s[k] *= f; }
}
