/* core/plan/hw_device.c — a device spec ("h100x8", "host") as a roofline
 * device: the table's row (core/plan/hw.c) or the measured host
 * (core/plan/hw_host.c), with the options' efficiency curves. Apart from
 * hw.c so the table and its parser link without a backend (tests/fuzz). */
#include "core/plan/hw.h"

#include <string.h>

/* The options' curves and per-op cost; a measured host keeps its own unless set. */
static void apply_options(struct roof_device *d, const struct options *o, bool host)
{
    if (!host || o->explicit_set[OPT_SIM_MEM_EFF]) d->mem_eff.large = opt_f(o, OPT_SIM_MEM_EFF);
    if (!host || o->explicit_set[OPT_SIM_FLOP_EFF]) d->flop_eff.large = opt_f(o, OPT_SIM_FLOP_EFF);
    if (!host || o->explicit_set[OPT_SIM_OP_US]) d->op_overhead_s = opt_f(o, OPT_SIM_OP_US) * 1e-6;
    if (d->mem_eff.small > d->mem_eff.large) d->mem_eff.small = d->mem_eff.large;
    if (d->flop_eff.small > d->flop_eff.large) d->flop_eff.small = d->flop_eff.large;
}

static int device_of(const char *spec, const struct options *opt, bool fresh, struct roof_device *out, FILE *log,
                     char *err, size_t errlen)
{
    const struct hw_row *row;
    bool host;
    int n;
    if (hw_parse(spec, &row, &host, &n, err, errlen) < 0) return -1;
    if (!host) {
        hw_row_device(row, n, out);
        apply_options(out, opt, false);
        return 0;
    }
    if (hw_host_measure((int)opt_i(opt, OPT_THREADS), fresh, out, log, err, errlen) < 0) return -1;
    apply_options(out, opt, true);
    if (n > 1) {
        out->n_devices = n;
        out->mem_bytes *= n; out->bw *= n; out->llc_bw *= n; out->near_bw *= n;
        for (int p = 0; p < RP_COUNT; p++) out->flops[p] *= n;
        for (int t = 0; t < DT_COUNT; t++) out->wtype_flops[t] *= n;
        roof_profile_scale(&out->prof, 1.0 / n);
    }
    return 0;
}

int hw_device(const char *spec, const struct options *opt, struct roof_device *out, FILE *log, char *err,
              size_t errlen)
{
    return device_of(spec, opt, false, out, log, err, errlen);
}

int hw_device_fresh(const char *spec, const struct options *opt, struct roof_device *out, FILE *log, char *err,
                    size_t errlen)
{
    return device_of(spec, opt, true, out, log, err, errlen);
}
