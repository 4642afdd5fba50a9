/* tests/unit/fixture_engine.c — see fixture_engine.h. */
#include "tests/unit/fixture_engine.h"
#include "kernels/cpu/cpu_backend.h"

#include <criterion/criterion.h>
#include <string.h>

void fixture_tiny_up(struct model *m, struct backend **be, int threads)
{
    char err[256];
    cr_assert_eq(model_synth(m, &model_preset_find("tiny")->cfg, DT_F32, 5, 2, err, sizeof err), 0, "%s", err);
    *be = cpu_backend_create(threads, CPU_SIMD_AMX);
    cr_assert_not_null(*be);
}

void fixture_tiny_down(struct model *m, struct backend *be)
{
    backend_destroy(be);
    model_free(m);
}

void fixture_options(struct options *o, const char *opts)
{
    char err[256];
    options_defaults(o);
    cr_assert_eq(options_set_list(o, opts, err, sizeof err), 0, "%s: %s", opts, err);
}

void fixture_engine_with(struct engine *e, struct workload *w, struct model *m, struct backend *be,
                         const struct options *o, const struct scenario *sc)
{
    char err[512];
    cr_assert_eq(workload_generate(sc, m->cfg.vocab, 0, w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(engine_init(e, o, m, be, w, err, sizeof err), 0, "%s", err);
}

void fixture_engine(struct engine *e, struct workload *w, struct model *m, struct backend *be, const char *opts,
                    const char *ini)
{
    char err[256];
    struct options o;
    struct scenario sc;
    fixture_options(&o, opts);
    cr_assert_eq(scenario_parse_buffer("fixture.ini", ini, strlen(ini), &sc, err, sizeof err), 0, "%s", err);
    fixture_engine_with(e, w, m, be, &o, &sc);
}
