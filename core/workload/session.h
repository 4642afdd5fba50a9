/* core/workload/session.h — what every command that runs the model sets up
 * first: a backend (chosen in kernels/registry, with the reason) and a loaded
 * model whose weights live on that backend.
 *
 * Input first (model file, options), then the backend: a bad file gives one
 * message and nothing else. */
#ifndef INFERTOP_SESSION_H
#define INFERTOP_SESSION_H

#include "core/model/model.h"
#include "core/options/options.h"

#include <stdio.h>

#define SESSION_DEFAULT_MODEL "synth:smollm2-135m"

struct session {
    struct backend *be;
    struct model model;
    double load_s;            /* seconds model_load took */
    double transform_s;       /* seconds the weight transforms took (0: none enabled) */
    bool model_failed;        /* after a failed open: the model (not the backend) was the cause */
    struct model draft;       /* spec=draft's model (session_open_draft) */
    bool has_draft;
    char spec[256];           /* what was loaded, for session_reload_weights */
};

/* Load `spec` (NULL: SESSION_DEFAULT_MODEL) with the options' wtype, seed and
 * threads, create the backend named by opt `device` and upload the weights.
 * log (NULL: silent) gets the "backend: ..." and "model: ..." lines.
 * Returns 0, or the exit code (2 bad input: model file, options, no such
 * device; 1 runtime: upload failed) with one line in err; *s is then empty. */
int  session_open(struct session *s, const char *spec, const struct options *opt, FILE *log,
                  char *err, size_t errlen);
/* Load the draft model `spec` (a GGUF file or synth: preset) onto the
 * session's backend, with the options' wtype and seed. Its vocabulary must
 * be the target's. 0, or the exit code (2: bad file, other vocabulary; 1:
 * upload failed) with one line in err; the session keeps its target. */
int  session_open_draft(struct session *s, const char *spec, const struct options *opt, FILE *log,
                        char *err, size_t errlen);
/* Safe on a session whose open failed. */
void session_close(struct session *s);

/* Load the session's model again and apply the weight transforms of `opt`
 * (core/quant/transform.h: quant=..., later sparsity=...), replacing
 * s->model in place (its address stays) once the new weights are ready on
 * s->be: the rebuild of a workload whose transform options changed.
 * progress (may be NULL) gets one line per step of the work. 0; on failure
 * -1 with one line in err and s->model as it was. Nothing may be running on
 * the model meanwhile (the runner stops its engine first). */
int  session_reload_weights(struct session *s, const struct options *opt,
                            void (*progress)(void *user, const char *line), void *user,
                            char *err, size_t errlen);

#endif
