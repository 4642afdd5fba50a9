/* kernels/roofline.h — an op's time on a described device, from its kernel
 * record's MODELED FLOPs and bytes (kernels/cost.c): the roofline with
 * efficiency curves. Shared by `infertop plan` (core/plan) and the simulated
 * device (kernels/sim); the device numbers come from the hardware table
 * (core/plan/hw.c), which fills a struct roof_device.
 *
 *   t = overhead + max(flops / (peak_flops(path) · e_flop(flops)),
 *                      dram bytes / (bandwidth · e_mem(bytes)))
 *
 * An efficiency curve is the achieved fraction of peak against the size of
 * the work, Calculon-style: e(s) = small + (large − small) · s / (s + half).
 * Everything it returns is MODELED (a plan) or SIMULATED (a sim device run). */
#ifndef INFERTOP_ROOFLINE_H
#define INFERTOP_ROOFLINE_H

#include "kernels/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Compute paths of a GPU datasheet (dense figures). */
enum roof_path { RP_FP32, RP_TF32, RP_FP16, RP_BF16, RP_FP8, RP_INT8, RP_COUNT };
const char *roof_path_name(enum roof_path p);   /* "fp32", ..., "int8" */

struct roof_curve {
    double small, large;       /* achieved fraction of peak for tiny / huge work */
    double half;               /* size (bytes or FLOPs) at which it is halfway */
};

/* A measured operator profile (the host row, core/plan/hw_probe.c): each op
 * kind's real kernel timed at a few sizes, so an op's time is read off its
 * own measurements (interpolated between sizes) rather than from two roofs
 * that the kernel does not reach. Every time here is the median of several
 * passes; all zero: no profile, the roofline alone (the GPU rows).
 *   matmul   weight format t, weight shape s (N rows × K columns), m rows
 *            of x: seconds per weight element at the probe's
 *            m = ROOF_MM_ROWS[i] (the pool's dispatch excluded: the device's
 *            op_overhead_s is added once per op); m = 1..16 on a weight set
 *            larger than the caches (decode streams the weights), m = 64,
 *            128 and 512 on one weight of up to 1024 rows (prefill,
 *            compute-bound: the kernels' cost per row is not constant in m
 *            — packing amortized over more rows, blocks of rows per task). Shapes: the grid
 *            K = ROOF_MM_K[i] × N = ROOF_MM_N[j] (s = i·ROOF_MM_NN + j) and
 *            one long-N point (ROOF_MM_LONG_K × ROOF_MM_LONG_N, a vocabulary
 *            head's shape), s = ROOF_MM_GRID; roof_profile_time reads them
 *            back bilinearly in (1/K, 1/N) (roof_mm_elem_s);
 *   attention per impl (naive, flash) × KV element (f32, f16) × regime
 *            (decode: n_q < ATTN_TILE_Q; prefill): fixed seconds + seconds
 *            per FLOP, fitted through two context depths; prefill at
 *            ROOF_ATTN_PREFILL_Q queries and again at ROOF_ATTN_WIDE_Q (a
 *            prompt chunk: its rate per FLOP is not the 64-query one's),
 *            linear in n_q between them, clamped outside;
 *   small    rmsnorm, swiglu, add, kv_store, embed: seconds of one op at
 *            ROOF_SMALL_ELEMS[i] elements (inline on the caller below the
 *            pool's chunk, dispatched above: the table holds both regimes);
 *            rope at ROOF_ROPE_TOKENS[i] tokens, for 1 head and for
 *            ROOF_ROPE_HEADS heads of 64 (its per-token angles and per-head
 *            rotations scale differently). */
#define ROOF_MM_ROWS_N 8
#define ROOF_MM_DECODE_ROWS_N 5      /* ROOF_MM_ROWS[0..5): m = 1..16, probed on streamed weights */
#define ROOF_MM_NK 3                 /* K (columns) of the shape grid */
#define ROOF_MM_NN 3                 /* N (rows) of the shape grid */
#define ROOF_MM_GRID (ROOF_MM_NK * ROOF_MM_NN)
#define ROOF_MM_SHAPES (ROOF_MM_GRID + 1)   /* the grid and the long-N point */
#define ROOF_MM_LONG_K 512
#define ROOF_MM_LONG_N 32768
#define ROOF_SMALL_N 4
#define ROOF_ROPE_HEADS 8
enum roof_small_op { RSO_RMSNORM, RSO_SWIGLU, RSO_ADD, RSO_KV_STORE, RSO_EMBED, RSO_ROPE_1, RSO_ROPE_H, RSO_COUNT };
enum { ROOF_ATTN_KINDS = 8 };        /* impl (2) × KV element (2) × regime (2), roof_attn_kind() */
#define ROOF_ATTN_PREFILL_Q 64       /* queries of the prefill probe ... */
#define ROOF_ATTN_WIDE_Q 512         /* ... and of its wide one */
extern const int ROOF_MM_ROWS[ROOF_MM_ROWS_N];       /* 1, 2, 4, 8, 16, 64, 128, 512 */
/* The index of m in ROOF_MM_ROWS, -1 when it is not a probe row. */
int roof_mm_row_index(int m);
extern const int ROOF_MM_K[ROOF_MM_NK];              /* 512, 1536, 4096 */
extern const int ROOF_MM_N[ROOF_MM_NN];              /* 128, 1024, 4096 */
/* K and N of profile shape s (0 <= s < ROOF_MM_SHAPES). */
void roof_mm_shape(int s, int *k, int *n);
extern const double ROOF_SMALL_ELEMS[ROOF_SMALL_N];  /* 256, 4096, 65536, 1048576 */
extern const double ROOF_ROPE_TOKENS[ROOF_SMALL_N];  /* 1, 16, 256, 2048 */
const char *roof_small_name(enum roof_small_op k);   /* "rmsnorm", ..., "rope_h8" */

struct roof_profile {
    double mm_elem_s[DT_COUNT][ROOF_MM_SHAPES][ROOF_MM_ROWS_N];
    double attn_fixed_s[ROOF_ATTN_KINDS], attn_flop_s[ROOF_ATTN_KINDS];
    double attn_wide_fixed_s[ROOF_ATTN_KINDS], attn_wide_flop_s[ROOF_ATTN_KINDS];  /* prefill kinds (odd k) only */
    double small_s[RSO_COUNT][ROOF_SMALL_N];
};

/* Index of the attention profile for impl (ATTN_NAIVE/ATTN_FLASH), the KV
 * cache's element type (DT_F16, else f32) and n_q queries. */
int roof_attn_kind(enum attn_impl impl, enum dtype kv_type, int n_q);
const char *roof_attn_kind_name(int kind);            /* "flash_f16_decode" */

struct roof_device {
    char name[64];             /* "NVIDIA H100 SXM", "host: AMD EPYC ..." */
    int n_devices;             /* >1: the group's aggregate (every figure below is ×n already) */
    double mem_bytes;          /* device memory */
    double bw;                 /* main-memory bandwidth, bytes/s */
    double flops[RP_COUNT];    /* dense peak FLOP/s per path (0: no such path) */
    double wtype_flops[DT_COUNT]; /* > 0: FLOP/s of the matmul of that weight format, measured
                                     (the host); overrides the path */
    double link_bw;            /* interconnect bytes/s per device (NVLink / PCIe) */
    double link_base_s;        /* fixed cost of one comm op (a collective's launch and set-up) */
    double link_hop_s;         /* latency of one ring step over the link */
    double op_overhead_s;      /* fixed cost per op: kernel launch, thread dispatch */
    /* Bandwidth by working set (0: unknown, bw for everything). Activations
     * are read right after the op before wrote them: an op other than matmul
     * and attention whose bytes fit near_bytes (the cores' private caches)
     * reads at near_bw. A matmul's weights come from the last-level cache
     * only when the whole footprint re-read every step (reuse_bytes: the
     * model's weights on this device) fits llc_bytes AND llc_trusted: on a
     * shared host (other processes, other VMs on the socket) the LLC the C
     * library reports is not ours, so the host row does not trust it; its
     * bandwidth is measured and shown. Attention reads the KV cache, last
     * touched a step ago: main memory. */
    double llc_bytes, llc_bw;
    double near_bytes, near_bw;
    double reuse_bytes;
    bool llc_trusted;
    struct roof_curve mem_eff, flop_eff;
    struct roof_profile prof;  /* measured operators (the host); zeros: none */
};

/* The compute path of a matmul on weights of format t: f32 (and 2:4 s24_f32)
 * on FP32, f16 on FP16, bf16 on BF16, f8a8 (FP8 weights and activations) on
 * FP8 and w8a8 on INT8 (FP16 where the device has no such path), the
 * block-quantized and the other 2:4 formats dequantized in registers to FP16
 * (weight-only quantization). The dense figures: 2:4 formats' FLOPs are
 * already halved by kernels/cost.c. */
enum roof_path roof_matmul_path(enum dtype t);

struct roof_time {
    double t_s;                /* the modeled time */
    double compute_s, memory_s;/* the two roofs, after efficiency */
    bool memory_bound;         /* memory_s >= compute_s */
    double intensity;          /* FLOPs per main-memory byte */
};

/* e(s) of curve c (s >= 0). */
double roof_efficiency(const struct roof_curve *c, double s);

/* The bandwidth record r's main-memory bytes move at on d (the working-set
 * tiers above; d->bw when d has none). */
double roof_op_bandwidth(const struct roof_device *d, const struct kernel_record *r);

/* Time of record r on d. fmt: the weight format for OPC_MATMUL / OPC_EMBED
 * records, the KV cache's element type for OPC_ATTN (ignored otherwise).
 * Where d has a measured profile for the record's op (roof_profile_time), its
 * time is that; else the roofline: attention on the FP16 path of a GPU (the
 * host without a profile: its f32 matmul rate), the other ops on FP32. */
void roof_op_time(const struct roof_device *d, const struct kernel_record *r, enum dtype fmt,
                  struct roof_time *out);

/* roof_op_time's fmt for a record read back from a log: a matmul's weight
 * format from its name ("matmul_q4_1"), kv_type for attention, f32 else. */
enum dtype roof_record_fmt(const struct kernel_record *r, enum dtype kv_type);

/* Seconds of record r from d's measured profile (op_overhead_s included for a
 * matmul); 0 when d has no profile for it (a 2:4 format, an unknown op, a
 * GPU row). Matmul: op_overhead_s + n·k · roof_mm_elem_s(fmt, K, N, m),
 * n·k = flops / 2m (a tp share's record counts its share), K its columns,
 * N = n·k / K; attention: fixed + flops · per_flop of its kind (prefill:
 * both linear in n_q between the 64- and the 512-query probes); small ops: linear in elements
 * between probe sizes (the smallest probe's time below it, the last
 * segment's slope above); rope: the 1-head and the 8-head tables at its
 * tokens, linear in heads between them. */
double roof_profile_time(const struct roof_device *d, const struct kernel_record *r, enum dtype fmt);

/* Seconds per weight element of format t's matmul on an N×K weight at m
 * rows of x, from p (0 when p has no such format):
 *   in m: linear between probe rows (a matmul's time per weight element
 *     is affine in m between them: a fixed part per weight — its load,
 *     dequantization or packing — and one multiply-add per row); beyond the
 *     last (512) per element ∝ m — at every profile shape;
 *   in shape: bilinear in u = 1/K, v = 1/N over the grid, K and N clamped
 *     to it. The curve: a matmul's time is fixed + a·KN + b·N (per output:
 *     its reduction and store) + c·K (per input: x's conversion), so per
 *     weight element a + b/K + c/N, linear in 1/K and 1/N — the grid's
 *     bilinear patch holds that exactly and keeps what the probes measured
 *     at its corners (cache and thread-split effects the formula lacks);
 *   long N (N > the grid's largest): + the long-N point's difference from
 *     the grid at (ROOF_MM_LONG_K, largest N), linear in 1/N (c/N does not
 *     depend on K: the same difference at every K), and never below half
 *     the grid's value at the largest N (a noisy difference). */
double roof_mm_elem_s(const struct roof_profile *p, enum dtype t, double k, double n, double m);

/* An aggregate of devices (f = 1/n) or one of them (f = n): the profile's
 * per-work times (matmul per element, attention per FLOP) × f; fixed costs
 * and the small ops (latency-bound) unchanged. */
void roof_profile_scale(struct roof_profile *p, double f);

/* SIMULATED time of a comm op moving `bytes` per rank over d's link in
 * `steps` sequential ring steps (all-reduce 2(n−1), all-gather and
 * reduce-scatter n−1, send 1; kernels/comm.h): NCCL's own cost model
 * (src/graph/tuning.cc, ncclTopoTuneModel / ncclTopoGetAlgoTime):
 *   t = link_base + steps · link_hop + bytes / link_bw
 * 0 when steps is 0 or d has no link. */
double roof_comm_time(const struct roof_device *d, int steps, double bytes);

/* One device of an aggregate (n_devices > 1: every figure ÷ n_devices). */
void roof_device_one(const struct roof_device *agg, struct roof_device *one);

#ifdef __cplusplus
}
#endif

#endif
