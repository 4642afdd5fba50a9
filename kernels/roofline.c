/* kernels/roofline.c — see roofline.h. */
#include "kernels/roofline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *roof_path_name(enum roof_path p)
{
    static const char *N[RP_COUNT] = {"fp32", "tf32", "fp16", "bf16", "fp8", "int8"};
    return (unsigned)p < RP_COUNT ? N[p] : "?";
}

enum roof_path roof_matmul_path(enum dtype t)
{
    switch (t) {
    case DT_F32: case DT_S24_F32: return RP_FP32;
    case DT_BF16: return RP_BF16;
    case DT_F8A8: return RP_FP8;  /* activations quantized too: the tensor cores' FP8 / INT8 paths */
    case DT_W8A8: return RP_INT8;
    default: return RP_FP16;      /* f16, and weight-only quantized formats dequantized to f16 */
    }
}

double roof_efficiency(const struct roof_curve *c, double s)
{
    if (s <= 0) return c->large > 0 ? c->large : 1;
    double f = c->half > 0 ? s / (s + c->half) : 1;
    return c->small + (c->large - c->small) * f;
}

/* Peak FLOP/s the record's work runs at on d. */
static double peak_flops(const struct roof_device *d, const struct kernel_record *r, enum dtype wtype)
{
    if (r->cls == OPC_MATMUL) {
        if ((unsigned)wtype < DT_COUNT && d->wtype_flops[wtype] > 0) return d->wtype_flops[wtype];
        enum roof_path p = roof_matmul_path(wtype);
        double f = d->flops[p];
        if (!(f > 0) && (p == RP_FP8 || p == RP_INT8)) f = d->flops[RP_FP16];   /* no such path (A100 FP8) */
        return f > 0 ? f : d->flops[RP_FP32];
    }
    if (r->cls == OPC_ATTN) {
        if (d->wtype_flops[DT_F32] > 0) return d->wtype_flops[DT_F32];
        return d->flops[RP_FP16] > 0 ? d->flops[RP_FP16] : d->flops[RP_FP32];
    }
    return d->flops[RP_FP32];
}

double roof_op_bandwidth(const struct roof_device *d, const struct kernel_record *r)
{
    double bytes = r->dram_rd + r->dram_wr;
    if (r->cls == OPC_MATMUL)
        return d->llc_trusted && d->llc_bw > 0 && d->reuse_bytes > 0 && d->reuse_bytes <= d->llc_bytes ? d->llc_bw
                                                                                                     : d->bw;
    if (r->cls != OPC_ATTN && d->near_bw > 0 && bytes <= d->near_bytes) return d->near_bw;
    return d->bw;
}

void roof_op_time(const struct roof_device *d, const struct kernel_record *r, enum dtype fmt,
                  struct roof_time *out)
{
    double bytes = r->dram_rd + r->dram_wr, bw = roof_op_bandwidth(d, r);
    double F = peak_flops(d, r, fmt);
    double ef = roof_efficiency(&d->flop_eff, r->flops), em = roof_efficiency(&d->mem_eff, bytes);
    out->compute_s = F > 0 && ef > 0 ? r->flops / (F * ef) : 0;
    out->memory_s = bw > 0 && em > 0 ? bytes / (bw * em) : 0;
    out->memory_bound = out->memory_s >= out->compute_s;
    out->intensity = bytes > 0 ? r->flops / bytes : 0;
    out->t_s = d->op_overhead_s + fmax(out->compute_s, out->memory_s);
    double measured = roof_profile_time(d, r, fmt);     /* the op's own kernel, where the host measured it */
    if (measured > 0) out->t_s = measured;
}

enum dtype roof_record_fmt(const struct kernel_record *r, enum dtype kv_type)
{
    if (r->cls == OPC_ATTN) return kv_type;
    int t = strncmp(r->name, "matmul_", 7) == 0 ? dtype_from_name(r->name + 7) : -1;
    return t < 0 ? DT_F32 : (enum dtype)t;
}

double roof_comm_time(const struct roof_device *d, int steps, double bytes)
{
    if (steps <= 0 || d->link_bw <= 0) return 0;
    return d->link_base_s + steps * d->link_hop_s + bytes / d->link_bw;
}

void roof_device_one(const struct roof_device *agg, struct roof_device *one)
{
    *one = *agg;
    int n = agg->n_devices > 1 ? agg->n_devices : 1;
    one->n_devices = 1;
    one->mem_bytes /= n;
    one->bw /= n;
    one->llc_bw /= n;
    one->near_bw /= n;
    one->reuse_bytes /= n;
    for (int p = 0; p < RP_COUNT; p++) one->flops[p] /= n;
    for (int t = 0; t < DT_COUNT; t++) one->wtype_flops[t] /= n;
    roof_profile_scale(&one->prof, n);
    /* "8x NVIDIA H100 SXM" -> "NVIDIA H100 SXM" */
    const char *x = n > 1 ? strstr(agg->name, "x ") : NULL;
    if (x) snprintf(one->name, sizeof one->name, "%s", x + 2);
}
