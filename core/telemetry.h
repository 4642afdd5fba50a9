/* core/telemetry.h — what the engine publishes: plain structs, no behaviour.
 *
 * Per step one step_record; per request the scheduler's timestamps. Times are
 * measured (CLOCK_MONOTONIC); bytes and FLOPs come from kernel records and are
 * MODELED on backends without counters (kernel_record.bytes_measured). */
#ifndef INFERTOP_TELEMETRY_H
#define INFERTOP_TELEMETRY_H

#include "core/engine/kvcache.h"
#include "kernels/backend.h"

struct op_class_sum {
    double time_s;
    double flops;
    double dram_bytes, chip_bytes;   /* modeled unless bytes_measured */
    int count;
};

struct step_record {
    uint64_t index;
    double t_start_s, dur_s;         /* since the engine started */
    int prefill_tokens, decode_tokens;
    int batch_size;                  /* requests in this step */
    int running, waiting;
    int preempted, finished;         /* during this step */
    double prefill_s, decode_s;      /* step time apportioned: attention per sequence, the rest by tokens */
    double plan_s;                   /* scheduler planning: t_start_s .. t_start_s + plan_s */
    double sample_start_s, sample_s; /* sampling (since the engine started), its duration */
    struct op_class_sum ops[OPC_COUNT];
    struct kvcache_totals kv;
};

#endif
