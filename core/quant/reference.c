/* core/quant/reference.c — see reference.h. */
#include "core/quant/reference.h"

#include <stdio.h>
#include <string.h>

bool reference_is_weight_option(enum opt_id id)
{
    const struct option_def *d = option_def(id);
    if (d->cls == OC_LIVE) return false;
    return strstr(d->technique, "quantiz") || strstr(d->technique, "sparsity");
}

void reference_options(const struct options *cur, struct options *ref)
{
    char err[256];
    *ref = *cur;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!reference_is_weight_option((enum opt_id)i)) continue;
        options_set_id(ref, (enum opt_id)i, option_def((enum opt_id)i)->def, err, sizeof err);
        ref->explicit_set[i] = false;
    }
}

/* Option i counts for this model: wtype only shapes synth: models. */
static bool applies(int i, const char *model_spec)
{
    bool synth = model_spec && strncmp(model_spec, "synth:", 6) == 0;
    return i != OPT_WTYPE || synth || !model_spec;
}

static bool at_default(const struct options *cur, int i)
{
    struct options d;
    char err[256];
    d = *cur;
    options_set_id(&d, (enum opt_id)i, option_def((enum opt_id)i)->def, err, sizeof err);
    return strcmp(d.v[i].s, cur->v[i].s) == 0;
}

bool reference_differs(const struct options *cur, const char *model_spec)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (reference_is_weight_option((enum opt_id)i) && applies(i, model_spec) && !at_default(cur, i))
            return true;
    return false;
}

size_t reference_format(const struct options *cur, const char *model_spec, bool reference, char *buf, size_t n)
{
    size_t w = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < OPT_COUNT; i++) {
        if (!reference_is_weight_option((enum opt_id)i) || !applies(i, model_spec) || at_default(cur, i))
            continue;
        int k = snprintf(w < n ? buf + w : buf + n, w < n ? n - w : 0, "%s%s=%s", w ? " " : "", option_def((enum opt_id)i)->name,
                         reference ? option_def((enum opt_id)i)->def : cur->v[i].s);
        if (k > 0) w += (size_t)k;
    }
    return w;
}
