/* core/model/unicode.c — UTF-8 coding and codepoint classes for the tokenizer. */
#include "core/model/unicode.h"

static bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

int utf8_seq_len(unsigned char c)
{
    if (c < 0xC0) return 1;          /* ASCII, or a stray continuation byte */
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    return 4;
}

uint32_t utf8_decode(const char *s, size_t len, size_t *pos)
{
    const unsigned char *p = (const unsigned char *)s + *pos;
    size_t avail = len - *pos;
    unsigned char c = p[0];
    int n;
    uint32_t cp;

    if (c < 0x80) { *pos += 1; return c; }
    if (c < 0xC0 || c >= 0xF8) { *pos += 1; return UNICODE_REPLACEMENT; }
    n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (avail < (size_t)n) { *pos += 1; return UNICODE_REPLACEMENT; }
    cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if (!is_continuation(p[i])) { *pos += 1; return UNICODE_REPLACEMENT; }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    *pos += (size_t)n;
    return cp > 0x10FFFF ? UNICODE_REPLACEMENT : cp;
}

int utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Binary search over sorted, disjoint, inclusive [first, last] ranges. */
static bool in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return true;
    }
    return false;
}

bool unicode_is_letter(uint32_t cp)
{
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return in_ranges(unicode_letter_ranges, unicode_letter_ranges_count, cp);
}

bool unicode_is_number(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return in_ranges(unicode_number_ranges, unicode_number_ranges_count, cp);
}

bool unicode_is_whitespace(uint32_t cp)
{
    /* White_Space (PropList.txt): a short, stable list. */
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20:
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}
