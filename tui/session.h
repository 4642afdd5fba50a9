/* tui/session.h — what every command that runs the model sets up first:
 * a backend (with the reason it was chosen) and a loaded model. */
#ifndef INFERTOP_SESSION_H
#define INFERTOP_SESSION_H

#include "core/model/model.h"
#include "tui/cli.h"

struct session {
    struct backend *be;
    struct model model;
    int exit_code;            /* when session_open fails: 1 runtime, 2 bad input */
};

/* Prints "backend: ..." and model lines on stderr unless a->quiet. */
int  session_open(struct session *s, struct cli_args *a);
void session_close(struct session *s);

#endif
