/* core/plan/hw.h — the hardware table: datasheet rows for GPUs (data, each
 * row's source named in core/plan/hw.c) and the host CPU, measured at run
 * time (streaming-read bandwidth, matmul FLOP/s per weight format, per-op
 * dispatch cost) and cached in $XDG_CACHE_HOME/infertop/hw/.
 *
 * Dense and sparse (2:4) tensor figures are separate columns and never mixed:
 * a plan and a simulated device use the dense ones. */
#ifndef INFERTOP_HW_H
#define INFERTOP_HW_H

#include "core/options/options.h"
#include "kernels/roofline.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct hw_row {
    const char *key;           /* command-line name: "h100", "host" */
    const char *name;          /* "NVIDIA H100 SXM" */
    double mem_gb;             /* device memory, GB (1e9) */
    double bw_gbs;             /* memory bandwidth, GB/s */
    double dense_tflops[RP_COUNT];   /* dense peak TFLOP/s (TOPS for int8) per path; 0: none */
    double sparse_tflops[RP_COUNT];  /* 2:4 sparse peak, its own column; 0: none */
    int sms;
    double l2_mb;
    double smem_kb;            /* shared memory per SM, KB */
    double link_gbs;           /* interconnect, GB/s per direction */
    double link_hop_us;        /* latency of one ring step over it (NCCL's hwLat, ring LL) */
    const char *link;          /* "NVLink 4", "PCIe 4.0 x16" */
    const char *source;        /* where the numbers come from */
};

/* The GPU rows (not host), in table order. */
const struct hw_row *hw_rows(int *n);
/* The row named key, or NULL. */
const struct hw_row *hw_find(const char *key);
/* The datasheet row of a real device from its driver name ("NVIDIA H200",
 * "NVIDIA GeForce RTX 4090"): the row whose key occurs in it, case-insensitive
 * (the longest such key); NULL when none does. */
const struct hw_row *hw_for_device(const char *device_name);
/* "copy 4.31 TB/s measured vs 4.80 TB/s datasheet (h200)" into out for a
 * backend's measured_bw (bytes/s) and device name; "" when bw <= 0. */
void hw_bw_line(char *out, size_t n, double measured_bw, const char *device_name);

/* Efficiency curves a GPU row runs with unless the options change them
 * (sim_mem_eff, sim_flop_eff, sim_op_us): memory 0.9 of peak for large
 * transfers falling to 0.3 for tiny ones (Calculon's A100 description),
 * compute 0.75 of peak for large GEMMs falling to 0.1 for tiny ones, and a
 * 5 µs launch per op — stated assumptions, not measurements. */
#define HW_GPU_MEM_EFF_LARGE 0.9
#define HW_GPU_MEM_EFF_SMALL 0.3
#define HW_GPU_MEM_EFF_HALF  (4.0 * 1024 * 1024)     /* bytes */
#define HW_GPU_FLOP_EFF_LARGE 0.75
#define HW_GPU_FLOP_EFF_SMALL 0.1
#define HW_GPU_FLOP_EFF_HALF  (1e9)                  /* FLOPs */
#define HW_GPU_OP_OVERHEAD_S  5e-6
/* Fixed cost of one collective or send: NCCL's baseLat for the ring
 * algorithm with its LL protocol (src/graph/tuning.cc), the protocol NCCL
 * picks for the small messages of decode; per-step latencies are the rows'
 * link_hop_us (hwLat: NVLink 0.47 µs, PCIe 1.0 µs). */
#define HW_LINK_BASE_US 3.6
#define HW_LINK_HOP_NVLINK_US 0.47
#define HW_LINK_HOP_PCIE_US 1.0

/* "h100", "h100x8", "host", "hostx2": the row's key and the device count
 * (1..16). 0 ok; -1 with "gpu: ... expected ..." in err. */
int hw_parse(const char *spec, const struct hw_row **row, bool *host, int *n, char *err, size_t errlen);

/* The host, measured (or read from the cache unless fresh; a fresh
 * measurement replaces the cached one): n_threads CPU threads (<= 0: every
 * online core). log (NULL: silent) gets one line saying measured or cached
 * (and the file). 0 ok; -1 with err. */
int hw_host_measure(int n_threads, bool fresh, struct roof_device *out, FILE *log, char *err, size_t errlen);

/* A GPU row as a roofline device: n devices' aggregate (n >= 1), the
 * default efficiency curves. */
void hw_row_device(const struct hw_row *row, int n, struct roof_device *out);

/* A spec as a roofline device: hw_parse, then the row or the host measured
 * with opt's threads, then the options' efficiency curves and per-op cost
 * (sim_mem_eff, sim_flop_eff, sim_op_us: always for a GPU row, for the host
 * only when set explicitly). 0 ok; -1 with err (a bad name: exit 2). */
int hw_device(const char *spec, const struct options *opt, struct roof_device *out, FILE *log, char *err,
              size_t errlen);
/* hw_device measuring the host now, whatever the cache holds (validation
 * compares with a run made under the machine's load of the moment). */
int hw_device_fresh(const char *spec, const struct options *opt, struct roof_device *out, FILE *log, char *err,
                    size_t errlen);

#endif
