/* core/model/gguf.c — GGUF v2/v3 reader.
 *
 * File layout (little-endian):
 *   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv × (string key | u32 value type | value)
 *   n_tensors × (string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset)
 *   padding to general.alignment (default 32) | data section
 * A string is u64 length + bytes (no NUL); an array is u32 element type + u64
 * count + elements. Nested arrays are rejected (no known writer emits them).
 *
 * Safety: every read goes through `struct reader`, which checks the bytes are
 * there first. Every count is checked against the bytes left in the file
 * before anything is allocated for it, using the smallest encoding one item
 * can have, so a header that claims 2^60 tensors fails before malloc. Strings
 * are copied, NUL-terminated, into a pool; the pool stores offsets while it
 * grows and pointers are made only once it is final. */
#include "core/model/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC_BYTES "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
/* Smallest possible encodings, used to bound counts before allocating. */
#define MIN_KV_BYTES     (8 + 1 + 4 + 1)           /* key len, 1-byte key, type, u8 value */
#define MIN_TINFO_BYTES  (8 + 1 + 4 + 8 + 4 + 8)   /* name len, name, n_dims, ne[0], type, offset */
#define MIN_STRING_BYTES 8

/* ---- ggml type table: ids, names, block geometry ---------------------- */

struct ggml_type_desc {
    const char *name;    /* NULL: id unused or removed from ggml */
    int block_elems;
    int block_bytes;
};

static const struct ggml_type_desc GGML_TYPES[] = {
    [0]  = {"f32", 1, 4},        [1]  = {"f16", 1, 2},
    [2]  = {"q4_0", 32, 18},     [3]  = {"q4_1", 32, 20},
    [6]  = {"q5_0", 32, 22},     [7]  = {"q5_1", 32, 24},
    [8]  = {"q8_0", 32, 34},     [9]  = {"q8_1", 32, 36},
    [10] = {"q2_k", 256, 84},    [11] = {"q3_k", 256, 110},
    [12] = {"q4_k", 256, 144},   [13] = {"q5_k", 256, 176},
    [14] = {"q6_k", 256, 210},   [15] = {"q8_k", 256, 292},
    [16] = {"iq2_xxs", 256, 66}, [17] = {"iq2_xs", 256, 74},
    [18] = {"iq3_xxs", 256, 98}, [19] = {"iq1_s", 256, 50},
    [20] = {"iq4_nl", 32, 18},   [21] = {"iq3_s", 256, 110},
    [22] = {"iq2_s", 256, 82},   [23] = {"iq4_xs", 256, 136},
    [24] = {"i8", 1, 1},         [25] = {"i16", 1, 2},
    [26] = {"i32", 1, 4},        [27] = {"i64", 1, 8},
    [28] = {"f64", 1, 8},        [29] = {"iq1_m", 256, 56},
    [30] = {"bf16", 1, 2},
    [34] = {"tq1_0", 256, 54},   [35] = {"tq2_0", 256, 66},
    [39] = {"mxfp4", 32, 17},
};
#define N_GGML_TYPES ((int)(sizeof GGML_TYPES / sizeof GGML_TYPES[0]))

const char *gguf_ggml_type_name(int t)
{
    return t >= 0 && t < N_GGML_TYPES ? GGML_TYPES[t].name : NULL;
}

bool gguf_ggml_type_block(int t, int *block_elems, int *block_bytes)
{
    if (!gguf_ggml_type_name(t)) return false;
    *block_elems = GGML_TYPES[t].block_elems;
    *block_bytes = GGML_TYPES[t].block_bytes;
    return true;
}

/* Size in bytes of one scalar of a value type; 0 for string/array/unknown. */
static size_t vtype_size(uint32_t t)
{
    static const size_t SZ[GGUF_VTYPE_COUNT] = {
        [GGUF_U8] = 1, [GGUF_I8] = 1, [GGUF_U16] = 2, [GGUF_I16] = 2, [GGUF_U32] = 4,
        [GGUF_I32] = 4, [GGUF_F32] = 4, [GGUF_BOOL] = 1, [GGUF_U64] = 8, [GGUF_I64] = 8,
        [GGUF_F64] = 8,
    };
    return t < GGUF_VTYPE_COUNT ? SZ[t] : 0;
}

static const char *vtype_name(uint32_t t)
{
    static const char *N[GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array",
        "u64", "i64", "f64",
    };
    return t < GGUF_VTYPE_COUNT ? N[t] : "?";
}

/* ---- the parsed file ---------------------------------------------------- */

struct strref { size_t off, len; };   /* into the string pool */

struct kv {
    struct strref key;
    enum gguf_vtype type;
    union { uint64_t u; int64_t i; double f; } num;   /* scalars; bool in u */
    struct strref str;                                /* GGUF_STRING */
    enum gguf_vtype elem;                             /* GGUF_ARRAY: */
    uint64_t n;
    const uint8_t *arr;                               /*   numeric elements, in the file */
    struct strref *strs;                              /*   string elements, [n] */
};

/* Open-addressing table of item indices keyed by name; -1 = empty slot. */
struct name_index { int64_t *slot; size_t mask; };

struct gguf_file {
    const uint8_t *base;
    size_t size;
    void *map;                 /* mmap'd region (gguf_open) or NULL (buffer) */
    uint32_t version;
    size_t alignment, data_off;
    int64_t n_kv, n_tensors;
    struct kv *kvs;
    struct gguf_tensor *tensors;
    struct strref *tensor_names;
    struct name_index kv_index, tensor_index;
    char *pool;
    size_t pool_len, pool_cap;
};

/* ---- errors: "<name>: <field>: <message>", one line --------------------- */

struct reader {
    struct gguf_file *f;
    const uint8_t *p;
    size_t len, pos;
    const char *name;
    char field[160];           /* what is being read, for error messages */
    char *err;
    size_t errlen;
};

/* Copy n bytes of untrusted text for an error message: printable ASCII only,
 * capped, so a message always stays on one line. */
static void printable(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0, lim = n < 64 ? n : 64;
    for (size_t i = 0; i < lim && o + 1 < cap; i++)
        dst[o++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    if (n > lim && o + 4 < cap) { memcpy(dst + o, "...", 3); o += 3; }
    dst[o] = '\0';
}

static void set_field(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_field(struct reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->field, sizeof r->field, fmt, ap);
    va_end(ap);
}

static bool fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct reader *r, const char *fmt, ...)
{
    if (r->err && r->errlen) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(r->err, r->errlen, "%s: %s: %s", r->name, r->field, msg);
    }
    return false;
}

/* ---- bounds-checked primitive reads ------------------------------------- */

static size_t remaining(const struct reader *r) { return r->len - r->pos; }

static bool need(struct reader *r, uint64_t n, const char *what)
{
    if (n > remaining(r))
        return fail(r, "%s truncated: needs %llu bytes at offset %zu, file size %zu", what,
                    (unsigned long long)n, r->pos, r->len);
    return true;
}

static uint64_t load_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static bool read_uint(struct reader *r, int n, const char *what, uint64_t *v)
{
    if (!need(r, (uint64_t)n, what)) return false;
    *v = load_le(r->p + r->pos, n);
    r->pos += (size_t)n;
    return true;
}

static bool read_u32(struct reader *r, const char *what, uint32_t *v)
{
    uint64_t x;
    if (!read_uint(r, 4, what, &x)) return false;
    *v = (uint32_t)x;
    return true;
}

static bool read_u64(struct reader *r, const char *what, uint64_t *v)
{
    return read_uint(r, 8, what, v);
}

/* Append bytes + NUL to the pool; grows geometrically. */
static bool pool_add(struct reader *r, const uint8_t *s, size_t n, struct strref *out)
{
    struct gguf_file *f = r->f;
    if (f->pool_cap - f->pool_len < n + 1) {
        size_t cap = f->pool_cap ? f->pool_cap : 4096;
        while (cap - f->pool_len < n + 1) cap *= 2;
        char *np = realloc(f->pool, cap);
        if (!np) return fail(r, "out of memory for %zu bytes of strings", cap);
        f->pool = np;
        f->pool_cap = cap;
    }
    memcpy(f->pool + f->pool_len, s, n);
    f->pool[f->pool_len + n] = '\0';
    out->off = f->pool_len;
    out->len = n;
    f->pool_len += n + 1;
    return true;
}

/* u64 length + bytes. The length is checked against the file before copying. */
static bool read_string(struct reader *r, const char *what, struct strref *out)
{
    uint64_t n;
    if (!read_u64(r, what, &n)) return false;
    if (n > remaining(r))
        return fail(r, "%s length %llu past end of file (offset %zu, file size %zu)", what,
                    (unsigned long long)n, r->pos, r->len);
    if (!pool_add(r, r->p + r->pos, (size_t)n, out)) return false;
    r->pos += (size_t)n;
    return true;
}

/* A key or tensor name: non-empty, no NUL bytes (it is looked up as a C string). */
static bool read_name(struct reader *r, const char *what, struct strref *out)
{
    if (!read_string(r, what, out)) return false;
    if (out->len == 0) return fail(r, "empty %s: expected a non-empty name", what);
    if (memchr(r->f->pool + out->off, '\0', out->len))
        return fail(r, "%s contains a NUL byte: expected plain text", what);
    return true;
}

/* ---- name index (duplicate detection and lookup) ------------------------ */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;             /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool index_init(struct name_index *ix, int64_t n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    ix->slot = malloc(cap * sizeof *ix->slot);
    if (!ix->slot) return false;
    for (size_t i = 0; i < cap; i++) ix->slot[i] = -1;
    ix->mask = cap - 1;
    return true;
}

/* Slot holding `name`, or the empty slot where it would go. Item k's name is
 * the strref at byte (char *)names + k*stride (a field of an array of structs). */
static size_t index_probe(const struct name_index *ix, const char *pool, const void *names,
                          size_t stride, const char *name)
{
    size_t i = (size_t)hash_name(name) & ix->mask;
    for (; ix->slot[i] >= 0; i = (i + 1) & ix->mask) {
        const struct strref *s =
            (const struct strref *)((const char *)names + (size_t)ix->slot[i] * stride);
        if (strcmp(pool + s->off, name) == 0) break;
    }
    return i;
}

/* ---- metadata values ---------------------------------------------------- */

static bool read_scalar(struct reader *r, uint32_t t, struct kv *kv)
{
    uint64_t x;
    if (!read_uint(r, (int)vtype_size(t), "value", &x)) return false;
    switch (t) {
    case GGUF_I8:  kv->num.i = (int8_t)x; break;
    case GGUF_I16: kv->num.i = (int16_t)x; break;
    case GGUF_I32: kv->num.i = (int32_t)x; break;
    case GGUF_I64: kv->num.i = (int64_t)x; break;
    case GGUF_F32: { uint32_t b = (uint32_t)x; float v; memcpy(&v, &b, 4); kv->num.f = v; } break;
    case GGUF_F64: memcpy(&kv->num.f, &x, 8); break;
    case GGUF_BOOL:
        if (x > 1) return fail(r, "bool value %llu: expected 0 or 1", (unsigned long long)x);
        kv->num.u = x;
        break;
    default: kv->num.u = x; break;
    }
    return true;
}

static bool read_array(struct reader *r, struct kv *kv)
{
    uint32_t et;
    uint64_t n;
    if (!read_u32(r, "array element type", &et) || !read_u64(r, "array length", &n)) return false;
    if (et == GGUF_ARRAY) return fail(r, "nested array: expected an array of scalars or strings");
    if (et >= GGUF_VTYPE_COUNT)
        return fail(r, "unknown array element type %u: expected 0..%d", et, GGUF_VTYPE_COUNT - 1);
    kv->elem = (enum gguf_vtype)et;
    size_t esz = et == GGUF_STRING ? MIN_STRING_BYTES : vtype_size(et);
    if (n > remaining(r) / esz)
        return fail(r, "array of %llu %s past end of file (%zu bytes left at offset %zu)",
                    (unsigned long long)n, vtype_name(et), remaining(r), r->pos);
    kv->n = n;
    if (et != GGUF_STRING) {
        kv->arr = r->p + r->pos;
        if (et == GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (kv->arr[i] > 1)
                    return fail(r, "bool element %llu is %u: expected 0 or 1",
                                (unsigned long long)i, kv->arr[i]);
        r->pos += (size_t)n * esz;
        return true;
    }
    /* n ≤ remaining/8 here, so this allocation is bounded by the file size */
    kv->strs = malloc((size_t)(n ? n : 1) * sizeof *kv->strs);
    if (!kv->strs) return fail(r, "out of memory for %llu strings", (unsigned long long)n);
    char what[48];
    for (uint64_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "string element %llu", (unsigned long long)i);
        if (!read_string(r, what, &kv->strs[i])) return false;
    }
    return true;
}

static bool read_value(struct reader *r, struct kv *kv)
{
    uint32_t t;
    if (!read_u32(r, "value type", &t)) return false;
    if (t >= GGUF_VTYPE_COUNT)
        return fail(r, "unknown value type %u: expected 0..%d", t, GGUF_VTYPE_COUNT - 1);
    kv->type = (enum gguf_vtype)t;
    if (t == GGUF_STRING) return read_string(r, "string value", &kv->str);
    if (t == GGUF_ARRAY) return read_array(r, kv);
    return read_scalar(r, t, kv);
}

static bool read_kvs(struct reader *r)
{
    struct gguf_file *f = r->f;
    f->kvs = calloc((size_t)(f->n_kv ? f->n_kv : 1), sizeof *f->kvs);
    if (!f->kvs || !index_init(&f->kv_index, f->n_kv)) {
        set_field(r, "metadata");
        return fail(r, "out of memory for %lld keys", (long long)f->n_kv);
    }
    for (int64_t i = 0; i < f->n_kv; i++) {
        struct kv *kv = &f->kvs[i];
        set_field(r, "metadata key #%lld", (long long)i);
        if (!read_name(r, "key", &kv->key)) return false;
        char shown[80];
        printable(shown, sizeof shown, f->pool + kv->key.off, kv->key.len);
        set_field(r, "key '%s'", shown);
        size_t s = index_probe(&f->kv_index, f->pool, &f->kvs[0].key, sizeof *f->kvs,
                               f->pool + kv->key.off);
        if (f->kv_index.slot[s] >= 0) return fail(r, "duplicate key: expected each key once");
        f->kv_index.slot[s] = i;
        if (!read_value(r, kv)) return false;
    }
    return true;
}

/* ---- tensor infos ------------------------------------------------------- */

/* Bytes of a tensor of type t with dims ne, overflow-checked: ne[0] must be a
 * whole number of blocks, the element count must fit in int64 (as in ggml). */
static bool tensor_nbytes(struct reader *r, const struct gguf_tensor *t, size_t *out)
{
    const struct ggml_type_desc *d = &GGML_TYPES[t->ggml_type];
    uint64_t elems = 1;
    for (int j = 0; j < t->n_dims; j++) {
        if (t->ne[j] == 0) return fail(r, "ne[%d] is 0: expected every dimension >= 1", j);
        if (__builtin_mul_overflow(elems, t->ne[j], &elems) || elems > (uint64_t)INT64_MAX)
            return fail(r, "dimensions overflow: element count exceeds 2^63-1 at ne[%d]=%llu", j,
                        (unsigned long long)t->ne[j]);
    }
    if (t->ne[0] % (uint64_t)d->block_elems)
        return fail(r, "ne[0]=%llu: expected a multiple of %s's block size %d",
                    (unsigned long long)t->ne[0], d->name, d->block_elems);
    uint64_t bytes = elems / (uint64_t)d->block_elems;
    if (__builtin_mul_overflow(bytes, (uint64_t)d->block_bytes, &bytes) ||
        (uint64_t)(size_t)bytes != bytes)
        return fail(r, "byte size overflows: %llu elements of %s", (unsigned long long)elems,
                    d->name);
    *out = (size_t)bytes;
    return true;
}

static bool read_tensor_info(struct reader *r, int64_t i)
{
    struct gguf_file *f = r->f;
    struct gguf_tensor *t = &f->tensors[i];
    uint32_t n_dims, type;
    set_field(r, "tensor #%lld", (long long)i);
    if (!read_name(r, "tensor name", &f->tensor_names[i])) return false;
    const char *name = f->pool + f->tensor_names[i].off;
    char shown[80];
    printable(shown, sizeof shown, name, f->tensor_names[i].len);
    set_field(r, "tensor '%s'", shown);
    size_t s = index_probe(&f->tensor_index, f->pool, f->tensor_names, sizeof(struct strref), name);
    if (f->tensor_index.slot[s] >= 0) return fail(r, "duplicate tensor name: expected each once");
    f->tensor_index.slot[s] = i;

    if (!read_u32(r, "n_dims", &n_dims)) return false;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return fail(r, "n_dims %u: expected 1..%d", n_dims, GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    for (int j = 0; j < GGUF_MAX_DIMS; j++) t->ne[j] = 1;
    for (uint32_t j = 0; j < n_dims; j++)
        if (!read_u64(r, "dimension", &t->ne[j])) return false;
    if (!read_u32(r, "type", &type)) return false;
    if (!gguf_ggml_type_name((int)type))
        return fail(r, "type %u: unknown ggml type id", type);
    t->ggml_type = (int)type;
    if (!read_u64(r, "data offset", &t->offset)) return false;
    return tensor_nbytes(r, t, &t->nbytes);
}

static bool read_tensor_infos(struct reader *r)
{
    struct gguf_file *f = r->f;
    size_t n = (size_t)(f->n_tensors ? f->n_tensors : 1);
    f->tensors = calloc(n, sizeof *f->tensors);
    f->tensor_names = calloc(n, sizeof *f->tensor_names);
    if (!f->tensors || !f->tensor_names || !index_init(&f->tensor_index, f->n_tensors)) {
        set_field(r, "tensors");
        return fail(r, "out of memory for %lld tensors", (long long)f->n_tensors);
    }
    for (int64_t i = 0; i < f->n_tensors; i++)
        if (!read_tensor_info(r, i)) return false;
    return true;
}

/* ---- layout: alignment, data section, per-tensor placement -------------- */

static bool read_alignment(struct reader *r)
{
    struct gguf_file *f = r->f;
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (gguf_find_key(f, "general.alignment") < 0) return true;
    uint32_t a;
    set_field(r, "general.alignment");
    if (!gguf_get_u32(f, "general.alignment", &a))
        return fail(r, "expected an unsigned 32-bit integer");
    if (a == 0 || (a & (a - 1)))
        return fail(r, "%u: expected a power of two", a);
    f->alignment = a;
    return true;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const struct gguf_tensor *x = *(const struct gguf_tensor *const *)a;
    const struct gguf_tensor *y = *(const struct gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Tensors must not share bytes: a weight aliasing another is a corrupt file. */
static bool check_no_overlap(struct reader *r)
{
    struct gguf_file *f = r->f;
    if (f->n_tensors < 2) return true;
    const struct gguf_tensor **order = malloc((size_t)f->n_tensors * sizeof *order);
    if (!order) { set_field(r, "tensors"); return fail(r, "out of memory"); }
    for (int64_t i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, cmp_by_offset);
    bool ok = true;
    for (int64_t i = 1; ok && i < f->n_tensors; i++) {
        const struct gguf_tensor *a = order[i - 1], *b = order[i];
        if (a->offset + a->nbytes > b->offset) {
            char sa[80], sb[80];
            printable(sa, sizeof sa, a->name, strlen(a->name));
            printable(sb, sizeof sb, b->name, strlen(b->name));
            set_field(r, "tensor '%s'", sb);
            ok = fail(r, "data offset %llu overlaps tensor '%s' (bytes %llu..%llu): expected "
                      "disjoint data", (unsigned long long)b->offset, sa,
                      (unsigned long long)a->offset, (unsigned long long)(a->offset + a->nbytes));
        }
    }
    free(order);
    return ok;
}

static bool place_tensors(struct reader *r)
{
    struct gguf_file *f = r->f;
    size_t a = f->alignment;
    f->data_off = r->pos + (a - r->pos % a) % a;
    size_t data_size = f->data_off <= r->len ? r->len - f->data_off : 0;
    for (int64_t i = 0; i < f->n_tensors; i++) {
        struct gguf_tensor *t = &f->tensors[i];
        char shown[80];
        t->name = f->pool + f->tensor_names[i].off;
        printable(shown, sizeof shown, t->name, f->tensor_names[i].len);
        set_field(r, "tensor '%s'", shown);
        if (t->offset % a)
            return fail(r, "data offset %llu: expected a multiple of the alignment %zu",
                        (unsigned long long)t->offset, a);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return fail(r, "data offset %llu + %zu bytes past end of file (size %zu, data at %zu)",
                        (unsigned long long)t->offset, t->nbytes, r->len, f->data_off);
        t->data = r->p + f->data_off + t->offset;
    }
    return check_no_overlap(r);
}

/* ---- header ------------------------------------------------------------- */

static bool read_header(struct reader *r)
{
    struct gguf_file *f = r->f;
    uint64_t n_t, n_kv;
    set_field(r, "magic");
    if (!need(r, 4, "magic")) return false;
    if (memcmp(r->p, GGUF_MAGIC_BYTES, 4) != 0) {
        char shown[8];
        printable(shown, sizeof shown, (const char *)r->p, 4);
        return fail(r, "'%s': expected \"GGUF\"", shown);
    }
    r->pos = 4;
    set_field(r, "version");
    if (!read_u32(r, "version", &f->version)) return false;
    if (f->version == 1) return fail(r, "1 (GGUF v1) is not supported: expected 2 or 3");
    if (f->version != 2 && f->version != 3)
        return fail(r, "unknown version %u: expected 2 or 3 (little-endian)", f->version);
    set_field(r, "tensor count");
    if (!read_u64(r, "tensor count", &n_t)) return false;
    set_field(r, "metadata count");
    if (!read_u64(r, "metadata count", &n_kv)) return false;
    /* Bound both counts by the smallest encodings before any allocation. */
    size_t left = remaining(r);
    if (n_kv > left / MIN_KV_BYTES)
        return fail(r, "%llu keys cannot fit in the %zu bytes left (each needs >= %d)",
                    (unsigned long long)n_kv, left, MIN_KV_BYTES);
    set_field(r, "tensor count");
    if (n_t > (left - n_kv * MIN_KV_BYTES) / MIN_TINFO_BYTES)
        return fail(r, "%llu tensors cannot fit in the %zu bytes left (each needs >= %d)",
                    (unsigned long long)n_t, left - (size_t)n_kv * MIN_KV_BYTES, MIN_TINFO_BYTES);
    f->n_tensors = (int64_t)n_t;
    f->n_kv = (int64_t)n_kv;
    return true;
}

/* ---- open / close ------------------------------------------------------- */

void gguf_close(struct gguf_file *f)
{
    if (!f) return;
    for (int64_t i = 0; f->kvs && i < f->n_kv; i++) free(f->kvs[i].strs);
    free(f->kvs);
    free(f->tensors);
    free(f->tensor_names);
    free(f->kv_index.slot);
    free(f->tensor_index.slot);
    free(f->pool);
    if (f->map) munmap(f->map, f->size);
    free(f);
}

static int parse(const void *buf, size_t len, const char *name, void *map, struct gguf_file **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    struct gguf_file *f = calloc(1, sizeof *f);
    if (!f) {
        if (err && errlen) snprintf(err, errlen, "%s: file: out of memory", name);
        return -1;
    }
    f->base = buf;
    f->size = len;
    struct reader r = {.f = f, .p = buf, .len = len, .name = name, .err = err, .errlen = errlen};
    bool ok = read_header(&r) && read_kvs(&r) && read_alignment(&r) && read_tensor_infos(&r) &&
              place_tensors(&r);
    if (!ok) {
        gguf_close(f);            /* f->map is still NULL: the caller unmaps */
        return -1;
    }
    f->map = map;
    *out = f;
    return 0;
}

int gguf_open_buffer(const void *buf, size_t len, const char *name, struct gguf_file **out,
                     char *err, size_t errlen)
{
    static const uint8_t empty[1];
    return parse(buf ? buf : empty, buf ? len : 0, name ? name : "<buffer>", NULL, out, err,
                 errlen);
}

int gguf_open(const char *path, struct gguf_file **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: file: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: file: expected a regular GGUF file", path);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        close(fd);
        return gguf_open_buffer(NULL, 0, path, out, err, errlen);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: file: cannot map: %s", path, strerror(errno));
        return -1;
    }
    int rc = parse(map, (size_t)st.st_size, path, map, out, err, errlen);
    if (rc != 0) munmap(map, (size_t)st.st_size);
    return rc;
}

/* ---- accessors ---------------------------------------------------------- */

uint32_t gguf_version(const struct gguf_file *f) { return f->version; }
size_t gguf_alignment(const struct gguf_file *f) { return f->alignment; }
size_t gguf_data_offset(const struct gguf_file *f) { return f->data_off; }
int64_t gguf_n_kv(const struct gguf_file *f) { return f->n_kv; }
int64_t gguf_n_tensors(const struct gguf_file *f) { return f->n_tensors; }

const char *gguf_key(const struct gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_kv ? f->pool + f->kvs[i].key.off : NULL;
}

enum gguf_vtype gguf_kv_type(const struct gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_kv ? f->kvs[i].type : GGUF_VTYPE_COUNT;
}

static int64_t find_in(const struct name_index *ix, const char *pool, const void *names,
                       size_t stride, const char *name)
{
    if (!ix->slot || !name) return -1;
    return ix->slot[index_probe(ix, pool, names, stride, name)];
}

int64_t gguf_find_key(const struct gguf_file *f, const char *key)
{
    return find_in(&f->kv_index, f->pool, &f->kvs[0].key, sizeof(struct kv), key);
}

const struct gguf_tensor *gguf_tensor(const struct gguf_file *f, int64_t i)
{
    return i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

const struct gguf_tensor *gguf_find_tensor(const struct gguf_file *f, const char *name)
{
    int64_t i = find_in(&f->tensor_index, f->pool, f->tensor_names, sizeof(struct strref), name);
    return i < 0 ? NULL : &f->tensors[i];
}

static const struct kv *find_kv(const struct gguf_file *f, const char *key)
{
    int64_t i = gguf_find_key(f, key);
    return i < 0 ? NULL : &f->kvs[i];
}

static bool is_signed_int(enum gguf_vtype t)
{
    return t == GGUF_I8 || t == GGUF_I16 || t == GGUF_I32 || t == GGUF_I64;
}

static bool is_unsigned_int(enum gguf_vtype t)
{
    return t == GGUF_U8 || t == GGUF_U16 || t == GGUF_U32 || t == GGUF_U64;
}

bool gguf_get_u32(const struct gguf_file *f, const char *key, uint32_t *out)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv) return false;
    if (is_unsigned_int(kv->type) && kv->num.u <= UINT32_MAX) { *out = (uint32_t)kv->num.u; return true; }
    if (is_signed_int(kv->type) && kv->num.i >= 0 && kv->num.i <= (int64_t)UINT32_MAX) {
        *out = (uint32_t)kv->num.i;
        return true;
    }
    return false;
}

bool gguf_get_i64(const struct gguf_file *f, const char *key, int64_t *out)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv) return false;
    if (is_signed_int(kv->type)) { *out = kv->num.i; return true; }
    if (is_unsigned_int(kv->type) && kv->num.u <= (uint64_t)INT64_MAX) {
        *out = (int64_t)kv->num.u;
        return true;
    }
    return false;
}

bool gguf_get_f32(const struct gguf_file *f, const char *key, float *out)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv || (kv->type != GGUF_F32 && kv->type != GGUF_F64)) return false;
    *out = (float)kv->num.f;
    return true;
}

bool gguf_get_bool(const struct gguf_file *f, const char *key, bool *out)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv || kv->type != GGUF_BOOL) return false;
    *out = kv->num.u != 0;
    return true;
}

bool gguf_get_str(const struct gguf_file *f, const char *key, const char **s, size_t *len)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv || kv->type != GGUF_STRING) return false;
    *s = f->pool + kv->str.off;
    if (len) *len = kv->str.len;
    return true;
}

bool gguf_get_arr(const struct gguf_file *f, const char *key, enum gguf_vtype *elem, uint64_t *n,
                  const void **data)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv || kv->type != GGUF_ARRAY) return false;
    if (elem) *elem = kv->elem;
    if (n) *n = kv->n;
    if (data) *data = kv->elem == GGUF_STRING ? NULL : kv->arr;
    return true;
}

bool gguf_get_arr_str(const struct gguf_file *f, const char *key, uint64_t i, const char **s,
                      size_t *len)
{
    const struct kv *kv = find_kv(f, key);
    if (!kv || kv->type != GGUF_ARRAY || kv->elem != GGUF_STRING || i >= kv->n) return false;
    *s = f->pool + kv->strs[i].off;
    if (len) *len = kv->strs[i].len;
    return true;
}
