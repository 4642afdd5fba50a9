/* core/model/tokenizer_strmap.c — byte-string → int32 hash map (open addressing,
 * linear probing, FNV-1a) for the token and merge tables. Sized once for the
 * expected count so lookups never see a table over half full. */
#include <stdlib.h>
#include <string.h>

#include "core/model/tokenizer_impl.h"

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int strmap_init(struct strmap *m, int32_t expected)
{
    size_t slots = 16;
    memset(m, 0, sizeof *m);
    if (expected < 1) expected = 1;
    while (slots < 2 * (size_t)expected) slots *= 2;
    m->mask = slots - 1;
    m->cap = expected;
    m->slots = malloc(slots * sizeof *m->slots);
    m->key_off = malloc((size_t)expected * sizeof *m->key_off);
    m->key_len = malloc((size_t)expected * sizeof *m->key_len);
    m->value = malloc((size_t)expected * sizeof *m->value);
    if (!m->slots || !m->key_off || !m->key_len || !m->value) {
        strmap_free(m);
        return -1;
    }
    memset(m->slots, 0xFF, slots * sizeof *m->slots);   /* all -1 */
    return 0;
}

static bool key_equals(const struct strmap *m, int32_t e, const char *key, size_t len)
{
    return m->key_len[e] == len && memcmp(m->pool + m->key_off[e], key, len) == 0;
}

/* Slot holding key, or the empty slot where it would go. */
static size_t find_slot(const struct strmap *m, const char *key, size_t len)
{
    size_t i = (size_t)fnv1a(key, len) & m->mask;
    while (m->slots[i] >= 0 && !key_equals(m, m->slots[i], key, len)) i = (i + 1) & m->mask;
    return i;
}

static int pool_append(struct strmap *m, const char *key, size_t len)
{
    if (m->pool_len + len > m->pool_cap) {
        size_t cap = m->pool_cap ? m->pool_cap : 4096;
        char *p;
        while (cap < m->pool_len + len) cap *= 2;
        p = realloc(m->pool, cap);
        if (!p) return -1;
        m->pool = p;
        m->pool_cap = cap;
    }
    if (len) memcpy(m->pool + m->pool_len, key, len);
    m->pool_len += len;
    return 0;
}

int strmap_put(struct strmap *m, const char *key, size_t len, int32_t value)
{
    size_t i = find_slot(m, key, len);
    int32_t e;
    if (m->slots[i] >= 0) { m->value[m->slots[i]] = value; return 0; }
    if (m->n >= m->cap || len > UINT32_MAX) return -1;
    e = m->n;
    m->key_off[e] = m->pool_len;
    if (pool_append(m, key, len) != 0) return -1;
    m->key_len[e] = (uint32_t)len;
    m->value[e] = value;
    m->slots[i] = e;
    m->n++;
    return 0;
}

int32_t strmap_get(const struct strmap *m, const char *key, size_t len)
{
    size_t i = find_slot(m, key, len);
    return m->slots[i] >= 0 ? m->value[m->slots[i]] : -1;
}

void strmap_free(struct strmap *m)
{
    free(m->slots);
    free(m->key_off);
    free(m->key_len);
    free(m->value);
    free(m->pool);
    memset(m, 0, sizeof *m);
}
