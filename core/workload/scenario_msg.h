/* core/workload/scenario_msg.h — private to core/workload: the one-line
 * messages of scenario parsing and workload generation ("path:line: key:
 * what was expected"). */
#ifndef INFERTOP_SCENARIO_MSG_H
#define INFERTOP_SCENARIO_MSG_H

#include <stddef.h>

/* Where messages point: a file and its lines. `lead` ("override: ") is put
 * before file positions when a check runs after scenario_set; line -1 means
 * the value came from an override itself. */
struct msg {
    const char *path;
    char *err;
    size_t errlen;
    const char *lead;
};

/* "path:line: key: what" (line > 0), "path: key: what" (line 0) or
 * "override: key: what" (line < 0). Always returns -1. */
int msg_fail(const struct msg *m, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
