/* tests/unit/fixture_engine.h — the tiny engine the unit suites run: the
 * "tiny" synthetic model (f32, weight seed 5) on a CPU backend, and an
 * engine over a scenario given as INI text with options given as "k=v ..."
 * text. Every step asserts (Criterion), so a suite's setup is one line. */
#ifndef INFERTOP_FIXTURE_ENGINE_H
#define INFERTOP_FIXTURE_ENGINE_H

#include "core/engine/engine.h"
#include "core/workload/scenario.h"
#include "core/workload/workload.h"

/* *m = synth "tiny" (f32, seed 5, generated with 2 threads); *be = a CPU
 * backend of `threads` threads at AVX-512 (the dispatcher takes the best the
 * CPU has at or below it). */
void fixture_tiny_up(struct model *m, struct backend **be, int threads);
void fixture_tiny_down(struct model *m, struct backend *be);

/* *o = the defaults with `opts` ("k=v k2=v2", may be "") applied. */
void fixture_options(struct options *o, const char *opts);

/* engine_init of m on be over the workload of sc with options o (*w is the
 * generated workload; free both with engine_free, workload_free). */
void fixture_engine_with(struct engine *e, struct workload *w, struct model *m, struct backend *be,
                         const struct options *o, const struct scenario *sc);

/* The same from texts: options `opts`, scenario INI text `ini` (named
 * "fixture.ini" in messages). */
void fixture_engine(struct engine *e, struct workload *w, struct model *m, struct backend *be, const char *opts,
                    const char *ini);

#endif
