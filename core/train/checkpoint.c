/* core/train/checkpoint.c — distillation checkpoints (format version 1).
 *
 * Layout (little-endian):
 *   "INFTDCK1" (8 bytes) | u32 version = 1 | u32 header bytes (this fixed header, 128)
 *   i32 layers, dim, heads, kv_heads, head_dim, ffn, vocab, max_ctx
 *   f32 norm_eps, rope theta, factor, low_freq_factor, high_freq_factor | i32 orig_ctx
 *   i32 train_embd, seq_len, batch, step, total_steps, n_curve
 *   u64 n_params, n_train, tokens_seen, data_hash | f64 kl_before, kl_last, train_s
 *   then f32 params[n_params], f32 m[n_train], f32 v[n_train],
 *   n_curve × {i32 step, f32 loss, f32 heldout_kl, f32 tok_s},
 *   u32 CRC-32 (IEEE) of every byte before it.
 * A reader checks the magic, version, every count against the shape (the
 * file size must be exactly what they imply) and the CRC before it copies
 * anything into the run. */
#include "core/train/distill.h"
#include "traces/outfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CKPT_MAGIC "INFTDCK1"
enum { CKPT_VERSION = 1, CKPT_HEADER = 128 };

static uint32_t crc_table[256];

static void crc_init(void)
{
    if (crc_table[1]) return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc_add(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

struct hdr {
    int32_t i[8 + 1 + 6];     /* shape (8), orig_ctx, train_embd, seq, batch, step, total, n_curve */
    float f[5];
    uint64_t u[4];
    double g[3];
};

static void pack(unsigned char *b, const struct hdr *h)
{
    memset(b, 0, CKPT_HEADER);
    memcpy(b, CKPT_MAGIC, 8);
    uint32_t v = CKPT_VERSION, hb = CKPT_HEADER;
    memcpy(b + 8, &v, 4); memcpy(b + 12, &hb, 4);
    memcpy(b + 16, h->i, sizeof h->i);          /* 60 bytes → 76 */
    memcpy(b + 76, h->f, sizeof h->f);          /* 20 → 96 */
    memcpy(b + 96, h->u, sizeof h->u);          /* 32 → 128 */
}

static void header_of(const struct distill *d, struct hdr *h, unsigned char *b)
{
    const struct model_config *c = &d->st.cfg;
    memset(h, 0, sizeof *h);
    int32_t iv[] = {c->n_layers, c->dim, c->n_heads, c->n_kv_heads, c->head_dim, c->ffn_dim, c->vocab,
                    c->max_ctx, c->rope.orig_ctx, d->cfg.train_embd, d->cfg.seq_len, d->cfg.batch, d->step,
                    d->total_steps, d->n_curve};
    memcpy(h->i, iv, sizeof iv);
    float fv[] = {c->norm_eps, c->rope.theta, c->rope.factor, c->rope.low_freq_factor, c->rope.high_freq_factor};
    memcpy(h->f, fv, sizeof fv);
    uint64_t uv[] = {d->st.n_params, d->n_train, d->tokens_seen, d->data_hash};
    memcpy(h->u, uv, sizeof uv);
    h->g[0] = d->kl_before; h->g[1] = d->kl_last; h->g[2] = d->train_s;
    pack(b, h);
}

/* The three doubles follow the fixed header (kept outside it so the 128
 * bytes stay as documented): 24 bytes. */
enum { CKPT_DOUBLES = 24 };

int distill_save_checkpoint(const struct distill *d, const char *path, char *err, size_t errlen)
{
    struct hdr h;
    unsigned char b[CKPT_HEADER];
    struct outfile o;
    crc_init();
    header_of(d, &h, b);
    if (outfile_open(&o, path, err, errlen) < 0) return -1;
    uint32_t crc = 0;
#define W(p, n) do { fwrite((p), 1, (n), o.f); crc = crc_add(crc, (p), (n)); } while (0)
    W(b, CKPT_HEADER);
    W(h.g, CKPT_DOUBLES);
    W(d->st.p, d->st.n_params * sizeof(float));
    W(d->m, d->n_train * sizeof(float));
    W(d->v, d->n_train * sizeof(float));
    for (int i = 0; i < d->n_curve; i++) {
        const struct distill_point *p = &d->curve[i];
        int32_t s = p->step;
        float f3[3] = {p->loss, p->heldout_kl, p->tok_s};
        W(&s, 4);
        W(f3, 12);
    }
#undef W
    fwrite(&crc, 4, 1, o.f);
    return outfile_close(&o, true, err, errlen);
}

static int bad(char *err, size_t errlen, const char *name, const char *field, const char *what)
{
    snprintf(err, errlen, "%s: %s: %s", name, field, what);
    return -1;
}

/* Shape fields in sane ranges and consistent with each other. */
static int check_shape(const int32_t *iv, char *err, size_t errlen, const char *name)
{
    static const char *F[8] = {"layers", "dim", "heads", "kv_heads", "head_dim", "ffn", "vocab", "context"};
    static const int32_t MAX[8] = {64, 65536, 4096, 4096, 65536, 1 << 20, 1 << 24, 1 << 30};
    char msg[96];
    for (int k = 0; k < 8; k++)
        if (iv[k] < 1 || iv[k] > MAX[k]) {
            snprintf(msg, sizeof msg, "%d: expected 1..%d", iv[k], MAX[k]);
            return bad(err, errlen, name, F[k], msg);
        }
    if (iv[1] != iv[2] * iv[4] || iv[2] % iv[3])
        return bad(err, errlen, name, "heads", "expected heads × head_dim = dim and kv_heads dividing heads");
    if (iv[10] < 2 || iv[10] > iv[7] || iv[11] < 1 || iv[11] > 64 || iv[12] < 0 || iv[13] < iv[12] ||
        iv[14] < 0 || iv[14] > (1 << 24) || (iv[9] != 0 && iv[9] != 1))
        return bad(err, errlen, name, "run", "expected seq in 2..context, batch 1..64, 0 <= step <= total");
    return 0;
}

int distill_load_checkpoint_buffer(struct distill *d, const void *buf, size_t len, const char *name,
                                   bool apply, char *err, size_t errlen)
{
    const unsigned char *b = buf;
    uint32_t ver, hb, crc;
    struct hdr h;
    crc_init();
    if (len < CKPT_HEADER + CKPT_DOUBLES + 4 || memcmp(b, CKPT_MAGIC, 8) != 0)
        return bad(err, errlen, name, "magic", "expected an infertop distill checkpoint (\"INFTDCK1\")");
    memcpy(&ver, b + 8, 4); memcpy(&hb, b + 12, 4);
    if (ver != CKPT_VERSION) {
        char msg[64];
        snprintf(msg, sizeof msg, "%u: expected %d", ver, CKPT_VERSION);
        return bad(err, errlen, name, "version", msg);
    }
    if (hb != CKPT_HEADER) return bad(err, errlen, name, "header size", "expected 128");
    memcpy(h.i, b + 16, sizeof h.i); memcpy(h.f, b + 76, sizeof h.f); memcpy(h.u, b + 96, sizeof h.u);
    memcpy(h.g, b + CKPT_HEADER, CKPT_DOUBLES);
    if (check_shape(h.i, err, errlen, name) < 0) return -1;
    struct model_config c = {0};
    c.n_layers = h.i[0]; c.dim = h.i[1]; c.n_heads = h.i[2]; c.n_kv_heads = h.i[3]; c.head_dim = h.i[4];
    c.ffn_dim = h.i[5]; c.vocab = h.i[6]; c.max_ctx = h.i[7];
    size_t D = (size_t)c.dim, qd = D, kvd = (size_t)c.n_kv_heads * c.head_dim, F = (size_t)c.ffn_dim;
    size_t per_layer = 2 * D + qd * D * 2 + kvd * D * 2 + 3 * F * D;
    size_t n_params = per_layer * c.n_layers + D + (size_t)c.vocab * D;
    size_t n_train = h.i[9] ? n_params : n_params - (size_t)c.vocab * D;
    if (h.u[0] != n_params) return bad(err, errlen, name, "n_params", "expected the count the shape gives");
    if (h.u[1] != n_train) return bad(err, errlen, name, "n_train", "expected the count the shape gives");
    size_t want = CKPT_HEADER + CKPT_DOUBLES + (n_params + 2 * n_train) * 4 + (size_t)h.i[14] * 16 + 4;
    if (len != want) {
        char msg[96];
        snprintf(msg, sizeof msg, "%zu bytes: expected %zu (truncated or extended)", len, want);
        return bad(err, errlen, name, "size", msg);
    }
    memcpy(&crc, b + len - 4, 4);
    if (crc_add(0, b, len - 4) != crc) return bad(err, errlen, name, "crc", "mismatch: the file is corrupt");
    if (!apply) return 0;
    const struct model_config *sc = &d->st.cfg;
    if (sc->n_layers != c.n_layers || sc->dim != c.dim || sc->n_heads != c.n_heads ||
        sc->n_kv_heads != c.n_kv_heads || sc->ffn_dim != c.ffn_dim || sc->vocab != c.vocab)
        return bad(err, errlen, name, "shape", "expected the --student shape of this run");
    if ((bool)h.i[9] != d->cfg.train_embd || h.i[10] != d->cfg.seq_len || h.i[11] != d->cfg.batch ||
        h.i[13] != d->total_steps)
        return bad(err, errlen, name, "run", "expected this run's train.embd, train.seq, train.batch and "
                   "--tokens");
    if (h.u[3] != d->data_hash)
        return bad(err, errlen, name, "data", "expected the same teacher data (teacher, --data, seed, "
                   "threads)");
    const unsigned char *p = b + CKPT_HEADER + CKPT_DOUBLES;
    memcpy(d->st.p, p, n_params * 4); p += n_params * 4;
    memcpy(d->m, p, n_train * 4); p += n_train * 4;
    memcpy(d->v, p, n_train * 4); p += n_train * 4;
    d->n_curve = 0;
    for (int i = 0; i < h.i[14]; i++, p += 16) {
        struct distill_point pt;
        int32_t s;
        float f3[3];
        memcpy(&s, p, 4); memcpy(f3, p + 4, 12);
        pt = (struct distill_point){s, f3[0], f3[1], f3[2]};
        if (d->n_curve == d->cap_curve) {
            int cap = d->cap_curve ? 2 * d->cap_curve : 64;
            while (cap < h.i[14]) cap *= 2;
            struct distill_point *np = realloc(d->curve, (size_t)cap * sizeof *np);
            if (!np) return bad(err, errlen, name, "curve", "out of memory");
            d->curve = np; d->cap_curve = cap;
        }
        d->curve[d->n_curve++] = pt;
    }
    d->step = h.i[12];
    d->tokens_seen = h.u[2];
    d->kl_before = h.g[0]; d->kl_last = h.g[1]; d->train_s = h.g[2];
    return 0;
}

static int read_checkpoint(struct distill *d, const char *path, bool apply, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) { snprintf(err, errlen, "%s: open: %s", path, strerror(errno)); return -1; }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ((off_t)1 << 36)) {
        fclose(f);
        return bad(err, errlen, path, "file", "expected a regular checkpoint file under 64 GiB");
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) { fclose(f); return bad(err, errlen, path, "file", "out of memory"); }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    int rc = got == len ? distill_load_checkpoint_buffer(d, buf, len, path, apply, err, errlen)
                        : bad(err, errlen, path, "file", "short read");
    free(buf);
    return rc;
}

int distill_resume(struct distill *d, const char *path, char *err, size_t errlen)
{
    return read_checkpoint(d, path, true, err, errlen);
}

int distill_checkpoint_verify(const char *path, char *err, size_t errlen)
{
    return read_checkpoint(NULL, path, false, err, errlen);
}
