/* traces/nvtx.c — see nvtx.h. */
#include "traces/nvtx.h"

#include <stddef.h>

/* Index = category id. Colors (ARGB) by phase: prefill orange, decode blue,
 * mixed purple, scheduling grey, layers/ops in quieter shades. */
static const struct { const char *name; uint32_t argb; } CATEGORIES[NC_COUNT] = {
    [0] = {"none", 0xff808080u},
    [NC_SCHEDULE] = {"schedule", 0xff9e9e9eu},
    [NC_PREFILL] = {"prefill", 0xffff8c00u},
    [NC_DECODE] = {"decode", 0xff1e88e5u},
    [NC_LAYER] = {"layer", 0xff43a047u},
    [NC_ATTENTION] = {"attention", 0xffe53935u},
    [NC_MLP] = {"mlp", 0xff8e24aau},
    [NC_SAMPLE] = {"sample", 0xfffdd835u},
    [NC_DRAFT] = {"draft", 0xff00acc1u},
    [NC_VERIFY] = {"verify", 0xff00897bu},
    [NC_COMM] = {"comm", 0xff6d4c41u},
    [NC_STEP] = {"step", 0xff546e7au},
    [NC_MIXED] = {"mixed", 0xff7e57c2u},
    [NC_OP] = {"op", 0xffb0bec5u},
    [NC_REQUEST] = {"request", 0xff26a69au},
    [NC_BUBBLE] = {"bubble", 0xffe0e0e0u},      /* a pipeline stage idle (exported segments) */
};

const char *nvtx_category_name(enum nvtx_category c)
{
    return (unsigned)c < NC_COUNT ? CATEGORIES[c].name : "none";
}

uint32_t nvtx_category_color(enum nvtx_category c)
{
    return (unsigned)c < NC_COUNT ? CATEGORIES[c].argb : CATEGORIES[0].argb;
}

#ifndef NVTX_DISABLE
#include <nvtx3/nvToolsExt.h>
#include <pthread.h>
#include <unistd.h>

static const struct { const char *name; enum nvtx_category cat; } RANGES[NR_COUNT] = {
    [NR_SCHEDULE] = {"schedule", NC_SCHEDULE},
    [NR_STEP] = {"step", NC_STEP},
    [NR_FORWARD] = {"forward", NC_STEP},
    [NR_LAYER] = {"layer", NC_LAYER},
    [NR_ATTENTION] = {"attention", NC_ATTENTION},
    [NR_MLP] = {"mlp", NC_MLP},
    [NR_PREFILL] = {"prefill", NC_PREFILL},
    [NR_DECODE] = {"decode", NC_DECODE},
    [NR_SAMPLE] = {"sample", NC_SAMPLE},
    [NR_DRAFT] = {"draft", NC_DRAFT},
    [NR_VERIFY] = {"verify", NC_VERIFY},
    [NR_COMM] = {"comm", NC_COMM},
};

static const struct { const char *name; enum nvtx_category cat; } MARKS[NM_COUNT] = {
    [NM_PREFILL_TOKENS] = {"prefill tokens", NC_PREFILL},
    [NM_DECODE_TOKENS] = {"decode tokens", NC_DECODE},
    [NM_BATCH] = {"batch size", NC_SCHEDULE},
};

static nvtxDomainHandle_t domain;
static nvtxStringHandle_t range_str[NR_COUNT], mark_str[NM_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    domain = nvtxDomainCreateA("infertop");
    for (int c = 1; c < NC_COUNT; c++) nvtxDomainNameCategoryA(domain, (uint32_t)c, CATEGORIES[c].name);
    for (int r = 0; r < NR_COUNT; r++) range_str[r] = nvtxDomainRegisterStringA(domain, RANGES[r].name);
    for (int m = 0; m < NM_COUNT; m++) mark_str[m] = nvtxDomainRegisterStringA(domain, MARKS[m].name);
}

void nvtx_init(void) { pthread_once(&once, init_once); }

void nvtx_name_thread(const char *name)
{
    nvtx_init();
    nvtxNameOsThreadA((uint32_t)gettid(), name);
}

static nvtxEventAttributes_t attributes(nvtxStringHandle_t s, enum nvtx_category c, uint64_t payload)
{
    nvtxEventAttributes_t a = {0};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.category = (uint32_t)c;
    a.colorType = NVTX_COLOR_ARGB;
    a.color = nvtx_category_color(c);
    a.payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT64;
    a.payload.ullValue = payload;
    a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    a.message.registered = s;
    return a;
}

void nvtx_push_cat(enum nvtx_range r, enum nvtx_category c, uint64_t payload)
{
    nvtx_init();
    nvtxEventAttributes_t a = attributes(range_str[r], c, payload);
    nvtxDomainRangePushEx(domain, &a);
}

void nvtx_push(enum nvtx_range r, uint64_t payload) { nvtx_push_cat(r, RANGES[r].cat, payload); }

void nvtx_pop(void) { nvtxDomainRangePop(domain); }

void nvtx_mark(enum nvtx_mark m, uint64_t payload)
{
    nvtx_init();
    nvtxEventAttributes_t a = attributes(mark_str[m], MARKS[m].cat, payload);
    nvtxDomainMarkEx(domain, &a);
}
#endif
