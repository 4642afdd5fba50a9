/* tests/unit/test_unicode.c — the strict UTF-8 check and the U+FFFD
 * sanitizer every JSON/NVTXT text goes through (traces/utf8.h). */
#include "traces/utf8.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static bool valid(const char *s) { return utf8_valid(s, strlen(s)); }

Test(utf8, well_formed_text_is_valid)
{
    cr_expect(valid(""));
    cr_expect(valid("plain ascii"));
    cr_expect(valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));   /* é € 😀 */
    cr_expect(valid("\xf4\x8f\xbf\xbf"));                            /* U+10FFFF, the last codepoint */
}

Test(utf8, malformed_sequences_are_invalid)
{
    cr_expect(!valid("\xff"));                 /* never a UTF-8 byte */
    cr_expect(!valid("\x80"));                 /* stray continuation */
    cr_expect(!valid("\xc0\xaf"));             /* overlong '/' */
    cr_expect(!valid("\xe0\x80\xaf"));         /* overlong, 3 bytes */
    cr_expect(!valid("\xed\xa0\x80"));         /* UTF-16 surrogate U+D800 */
    cr_expect(!valid("\xf4\x90\x80\x80"));     /* above U+10FFFF */
    cr_expect(!valid("\xe2\x82"));             /* cut short */
    cr_expect(!valid("ok\xc3"));               /* cut short at the end */
}

Test(utf8, sanitized_replaces_each_bad_byte_with_fffd)
{
    char *t = utf8_sanitized("a\xff" "b\xc0\xaf" "c\xc3\xa9");
    cr_assert_not_null(t);
    cr_expect_str_eq(t, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xc3\xa9");
    cr_expect(valid(t));
    free(t);
    t = utf8_sanitized("already fine \xe2\x82\xac");
    cr_expect_str_eq(t, "already fine \xe2\x82\xac");
    free(t);
}
