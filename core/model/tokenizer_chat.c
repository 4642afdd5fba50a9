/* core/model/tokenizer_chat.c — one-turn chat prompts in the format a vocabulary's
 * Jinja chat template describes. We do not run Jinja: we recognise the
 * format by its marker tokens and render the single-user-message case,
 * including a default system turn the template inserts on its own (SmolLM2's
 * "You are a helpful AI assistant named SmolLM, ..."). */
#include <stdio.h>
#include <string.h>

#include "core/model/tokenizer_impl.h"

/* ChatML templates that inject a system turn when the conversation has none
 * write it as a literal '<|im_start|>system\n...<|im_end|>' inside the
 * template; copy that text out. Returns its length, 0 when absent. */
static size_t default_system(const char *tmpl, const char **text)
{
    static const char open[] = "<|im_start|>system";
    const char *p = strstr(tmpl, open), *end;
    if (!p) return 0;
    p += sizeof open - 1;
    if (*p == '\n') p++;
    else if (p[0] == '\\' && p[1] == 'n') p += 2;
    else return 0;                       /* "system" + a variable: not a literal */
    end = strstr(p, "<|im_end|>");
    if (!end || memchr(p, '\'', (size_t)(end - p)) || memchr(p, '{', (size_t)(end - p)))
        return 0;                        /* spans a Jinja expression: not a literal */
    *text = p;
    return (size_t)(end - p);
}

static int render_chatml(const char *tmpl, const char *msg, char *out, size_t cap)
{
    const char *sys = NULL;
    size_t sys_len = default_system(tmpl, &sys);
    if (sys_len > 0)
        return snprintf(out, cap,
                        "<|im_start|>system\n%.*s<|im_end|>\n"
                        "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n",
                        (int)sys_len, sys, msg);
    return snprintf(out, cap, "<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n", msg);
}

int tokenizer_apply_chat(const struct tokenizer *t, const char *user_msg, char *out, size_t cap)
{
    const char *tmpl = t->chat_template;
    if (!tmpl) return -1;
    if (strstr(tmpl, "<|im_start|>")) return render_chatml(tmpl, user_msg, out, cap);
    if (strstr(tmpl, "<|start_header_id|>"))
        return snprintf(out, cap,
                        "<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|>"
                        "<|start_header_id|>assistant<|end_header_id|>\n\n", user_msg);
    if (strstr(tmpl, "[INST]")) return snprintf(out, cap, "[INST] %s [/INST]", user_msg);
    return -1;
}
