/* traces/utf8.c — see utf8.h. */
#include "traces/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* U+FFFD in UTF-8 */
static const char REPLACEMENT[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

int utf8_valid_seq(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) return 1;
    int n = u[0] >= 0xC2 && u[0] <= 0xDF ? 2 : u[0] >= 0xE0 && u[0] <= 0xEF ? 3 : u[0] >= 0xF0 && u[0] <= 0xF4 ? 4 : 0;
    if (n == 0 || (size_t)n > len) return 0;
    /* the second byte's range excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4) */
    unsigned char lo = u[0] == 0xE0 ? 0xA0 : u[0] == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = u[0] == 0xED ? 0x9F : u[0] == 0xF4 ? 0x8F : 0xBF;
    if (u[1] < lo || u[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if ((u[i] & 0xC0) != 0x80) return 0;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        int n = utf8_valid_seq(s + i, len - i);
        if (!n) return false;
        i += (size_t)n;
    }
    return true;
}

char *utf8_sanitized(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1), *o = out;   /* at worst every byte becomes EF BF BD */
    if (!out) return NULL;
    for (size_t i = 0; i < len;) {
        int n = utf8_valid_seq(s + i, len - i);
        if (n) { memcpy(o, s + i, (size_t)n); o += n; i += (size_t)n; }
        else { memcpy(o, REPLACEMENT, 3); o += 3; i++; }
    }
    *o = 0;
    return out;
}
