/* A scenario's [texts]: real prompts from a file (core/workload/texts.h) —
 * the split into texts, the scenario rules, and prompts replaced by the
 * texts' token ids. */
#include "core/workload/texts.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Test(texts, split_on_separator_lines_trimming_blank_edges)
{
    const char *b = "\n\nfirst text\nline two\n---\n  \nsecond\n---\r\n---\nthird\n\n";
    size_t st[8], ln[8];
    int n = texts_split(b, strlen(b), 8, st, ln);
    cr_assert_eq(n, 3, "empty texts between separators are dropped");
    cr_assert_eq(ln[0], strlen("first text\nline two"));
    cr_assert(strncmp(b + st[0], "first text\nline two", ln[0]) == 0);
    cr_assert(strncmp(b + st[1], "second", ln[1]) == 0 && ln[1] == 6);
    cr_assert(strncmp(b + st[2], "third", ln[2]) == 0 && ln[2] == 5);
    cr_assert_eq(texts_split("", 0, 8, st, ln), 0);
    cr_assert_eq(texts_split("---\n---", 7, 8, st, ln), 0);
    const char *dash = "a --- b\n----\n---x";
    cr_assert_eq(texts_split(dash, strlen(dash), 8, st, ln), 1, "only a line of exactly --- separates");
    cr_assert_eq(texts_split("a\n---\nb", 7, 1, st, ln), 1, "at most max texts");
}

static const char *SC =
    "[scenario]\nname = t\nrequests = 5\n[arrival]\nprocess = all\n[texts]\nfile = %s\n"
    "[output]\ndist = fixed\nvalue = 4\n";

Test(texts, scenario_prompts_are_the_texts_in_turn)
{
    char dir[] = "/tmp/texts-XXXXXX", path[64], ini[512], err[512];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("abc\n---\nhello world\n", f);
    fclose(f);
    snprintf(ini, sizeof ini, SC, "p.txt");
    char scpath[64];
    snprintf(scpath, sizeof scpath, "%s/s.ini", dir);
    f = fopen(scpath, "w");
    fputs(ini, f);
    fclose(f);
    struct scenario sc;
    cr_assert_eq(scenario_load(scpath, &sc, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(sc.texts.file, "p.txt");
    struct model m;
    cr_assert_eq(model_synth(&m, &model_preset_find("tiny")->cfg, DT_F32, 1, 1, err, sizeof err), 0);
    struct workload w;
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0, "%s", err);
    cr_assert_eq(workload_apply_texts(&w, &sc, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(w.n, 5);
    int want[5] = {3, 11, 3, 11, 3};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(w.reqs[i].prompt_len, want[i], "request %d", i);
        cr_assert_eq(w.reqs[i].prompt[0], (int32_t)(i % 2 ? 'h' : 'a') % m.cfg.vocab, "no tokenizer: byte mod vocab");
        cr_assert_eq(w.reqs[i].max_output, 4);
    }
    cr_assert_eq(w.n_tokens, 31);
    workload_free(&w);
    /* a missing file: one line naming it */
    snprintf(sc.texts.file, sizeof sc.texts.file, "none.txt");
    cr_assert_eq(workload_generate(&sc, m.cfg.vocab, 0, &w, err, sizeof err), 0);
    cr_assert_eq(workload_apply_texts(&w, &sc, &m, err, sizeof err), -1);
    cr_assert(strstr(err, "none.txt: cannot read it") && !strchr(err, '\n'), "%s", err);
    workload_free(&w);
    model_free(&m);
    unlink(path);
    unlink(scpath);
    rmdir(dir);
}

Test(texts, prompt_or_prefix_beside_texts_is_an_error)
{
    char ini[512], err[512];
    struct scenario sc;
    snprintf(ini, sizeof ini,
             "[scenario]\nname = t\nrequests = 2\n[texts]\nfile = x.txt\n[prompt]\ndist = fixed\nvalue = 3\n"
             "[output]\ndist = fixed\nvalue = 4\n");
    cr_assert_eq(scenario_parse_buffer("t.ini", ini, strlen(ini), &sc, err, sizeof err), -1);
    cr_assert(strstr(err, "t.ini:6: [prompt]: not used with [texts]"), "%s", err);
    snprintf(ini, sizeof ini, "[scenario]\nname = t\nrequests = 2\n[texts]\nchat = 1\n[output]\ndist = fixed\nvalue = 4\n");
    cr_assert_eq(scenario_parse_buffer("t.ini", ini, strlen(ini), &sc, err, sizeof err), -1);
    cr_assert(strstr(err, "file: missing"), "%s", err);
    snprintf(ini, sizeof ini,
             "[scenario]\nname = t\nrequests = 2\n[texts]\nfile = x.txt\nchat = 2\n[output]\ndist = fixed\nvalue = 4\n");
    cr_assert_eq(scenario_parse_buffer("t.ini", ini, strlen(ini), &sc, err, sizeof err), -1);
    cr_assert(strstr(err, "t.ini:6: chat:"), "%s", err);
}
