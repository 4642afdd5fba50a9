/* traces/traffic_measure.c — see traffic_measure.h. */
#include "traces/traffic_measure.h"

#include <stdlib.h>
#include <string.h>

int traffic_measure_open(struct traffic_measure *m, const struct crp_ops *ops, void *ctx, const char *backend_name,
                         int device, int steps, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->steps = steps;
    if (strcmp(backend_name, "cuda") != 0) {
        snprintf(err, errlen, "traffic not measured: no usable CUDA device (backend %s; "
                 "only the CUDA backend has memory counters)", backend_name);
        return 2;
    }
    if (crp_open(&m->s, ops, ctx, device, TM_MAX_RANGES) != CRP_OK) {
        snprintf(err, errlen, "%s", m->s.reason);
        return 2;
    }
    m->ranges = calloc(TM_MAX_RANGES, sizeof *m->ranges);
    if (!m->ranges) {
        crp_close(&m->s);
        snprintf(err, errlen, "out of memory for the profiler's ranges");
        return 2;
    }
    crp_set_active(&m->s);
    return 0;
}

static struct tm_row *row_of(struct traffic_measure *m, const char *name)
{
    for (int i = 0; i < m->n_rows; i++)
        if (strcmp(m->rows[i].name, name) == 0) return &m->rows[i];
    if (m->n_rows == TM_MAX_ROWS) return NULL;
    struct tm_row *r = &m->rows[m->n_rows++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    return r;
}

void tm_add_measured(struct traffic_measure *m, const struct crp_range *r, int n)
{
    for (int i = 0; i < n; i++) {
        const char *hash = strchr(r[i].name, '#');
        struct tm_row *row = row_of(m, hash ? hash + 1 : r[i].name);
        if (!row) continue;
        row->ranges++;
        row->dram += crp_dram_bytes(&r[i]);
        row->l2 += r[i].v[CRP_L2_BYTES];
        row->smem_wavefronts += r[i].v[CRP_SMEM_WAVEFRONTS];
        row->gpu_ns += r[i].v[CRP_GPU_TIME_NS];
    }
}

void tm_add_modeled(struct traffic_measure *m, const struct kernel_record *k, int n)
{
    for (int i = 0; i < n; i++) {
        struct tm_row *row = row_of(m, op_class_name(k[i].cls));
        if (!row) continue;
        row->modeled_dram += k[i].dram_rd + k[i].dram_wr;
        row->modeled_chip += k[i].chip_rd + k[i].chip_wr;
    }
}

int traffic_measure_step(struct traffic_measure *m, const struct telemetry *t)
{
    if (m->done || !crp_usable(&m->s)) return 0;
    m->seen++;
    if (!m->in_window) {                         /* after the first (warm-up) step */
        if (crp_window_begin(&m->s) != CRP_OK) goto failed;
        m->in_window = true;
        m->seen = 0;
        return 0;
    }
    tm_add_modeled(m, t->kernels, t->n_kernels);
    if (m->seen < m->steps) return 0;
    m->in_window = false;
    m->done = true;
    m->dropped = m->s.dropped;
    if (crp_window_end(&m->s, m->ranges, TM_MAX_RANGES, &m->n_ranges) != CRP_OK) goto failed;
    tm_add_measured(m, m->ranges, m->n_ranges);
    return 0;
failed:
    m->done = true;
    snprintf(m->reason, sizeof m->reason, "%s", m->s.reason);
    return -1;
}

void traffic_measure_print(const struct traffic_measure *m, FILE *f)
{
    if (m->reason[0]) { fprintf(f, "traffic: %s\n", m->reason); return; }
    if (!m->done) { fprintf(f, "traffic: the run ended before %d measured steps\n", m->steps); return; }
    fprintf(f, "traffic over %d steps (MEASURED by the CUPTI range profiler vs MODELED by kernels/cost; "
               "%d ranges, %d not measured: nested or over %d)\n", m->steps, m->n_ranges, m->dropped, TM_MAX_RANGES);
    fprintf(f, "%-22s %7s %12s %12s %8s %12s %12s %14s %10s\n", "op", "ranges", "HBM MB", "modeled MB", "err %",
            "L2 MB", "chip mod. MB", "smem wavefr.", "GPU ms");
    for (int i = 0; i < m->n_rows; i++) {
        const struct tm_row *r = &m->rows[i];
        fprintf(f, "%-22s %7d %12.3f %12.3f %8.1f %12.3f %12.3f %14.0f %10.3f\n", r->name, r->ranges, r->dram / 1e6,
                r->modeled_dram / 1e6, crp_error_pct(r->modeled_dram, r->dram), r->l2 / 1e6, r->modeled_chip / 1e6,
                r->smem_wavefronts, r->gpu_ns / 1e6);
    }
}

void traffic_measure_close(struct traffic_measure *m)
{
    if (crp_active() == &m->s) crp_set_active(NULL);
    crp_close(&m->s);
    free(m->ranges);
    m->ranges = NULL;
}
