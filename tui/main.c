/* tui/main.c — `infertop COMMAND [flags]`: dispatch to the commands. */
#include "tui/cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct command {
    const char *name;
    int (*run)(struct cli_args *a);
    int (*run_argv)(int argc, char **argv);   /* instead of run: the command parses its own flags */
    const char *args;
    const char *what;
};

static const struct command COMMANDS[] = {
    {"tui", cmd_tui, NULL,
     "[--scenario F] [--model M] [--set k=v ...] [--record F]",
     "live view (default with no command on a terminal)"},
    {"generate", cmd_generate, NULL,
     "--model M --prompt TEXT [-n N] [--chat] [--set k=v ...]",
     "plain text generation"},
    {"bench", cmd_bench, NULL,
     "[--scenario F] [--scenario-set \"arrival.rate=2 ...\"] [--model M] [--set k=v ...] [--json F]\n"
     "          [--trace F.json] [--nvtxt F.nvtxt [--nvtxt-clock manual|raw]] [--record F]\n"
     "          [--measure-traffic N]",
     "headless scenario run, serving report, traces"},
    {"ab", cmd_ab, NULL,
     "--a \"k=v ...\" --b \"k=v ...\" [--scenario F] [--json F]",
     "two configs, same requests, B/A"},
    {"distill", cmd_distill, NULL,
     "--teacher M --student SHAPE -o draft.gguf [--tokens N] [--data prompts[:F]|text:F]\n"
     "          [--init truncate|random] [--set train_k=v ...] [--json F] [--resume CKPT]",
     "train a small draft on the teacher's own next-token distributions (CPU), write a GGUF"},
    {"eval", cmd_eval, NULL,
     "--model M [--set k=v ...] [--text F] [--ctx N] [--chunks K] [--ref F | --save-ref F] [--json F]",
     "perplexity, KLD and same top p against the reference weights (llama-perplexity's method)"},
    {"replay", cmd_replay, NULL,
     "F [--export F.json|F.nvtxt]",
     "play a recording in the TUI (summary line without a terminal), or export it as a trace"},
    {"plan", cmd_plan, NULL,
     "--model M --gpu NAME[xN] [--tp N --pp N] [--batch B] [--ctx L] [--budget SIZE] [--set k=v ...]\n"
     "          [--json F] | --validate [--scenario F] [--model M] [--set k=v ...] [--json F]",
     "MODELED memory and roofline on a GPU of the hardware table; --validate: sim:host vs the CPU"},
    {"options", cmd_options, NULL,
     "",
     "every option: type, values, default, help"},
    {"scenarios", cmd_scenarios, NULL,
     "",
     "the shipped workloads: model, requests, arrivals"},
    {"keys", cmd_keys, NULL,
     "",
     "the TUI's keys (Markdown table)"},
    {"models", cmd_models, NULL,
     "[FILE.gguf ...]",
     "synthetic presets: params, bytes, KV/token; a GGUF's shape, formats and distillation summary"},
    {"speed", NULL, cmd_speed,
     "[-m M,..] [-p N,..] [-n N,..] [-d N,..] [-t N,..] [-b N,..] [-r N] [-o md|csv|json] [--set \"k=v1,v2 ...\"]",
     "model throughput in llama-bench's shape (pp/tg t/s, mean ± stddev)"},
};
#define N_COMMANDS (int)(sizeof COMMANDS / sizeof COMMANDS[0])

static void usage(FILE *out)
{
    fprintf(out, "infertop — an inference engine you can watch: KV cache, batching, attention, traffic.\n\n"
                 "usage: infertop COMMAND [flags]\n\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  infertop %s%s%s\n      %s\n", COMMANDS[i].name, *COMMANDS[i].args ? " " : "",
                COMMANDS[i].args, COMMANDS[i].what);
    fprintf(out, "\ncommon flags: --model synth:NAME|FILE.gguf  --device auto|cpu|cuda|sim:GPU[xN]  --threads N\n"
                 "              --draft synth:NAME|FILE.gguf (spec=draft's model, the target's vocabulary)\n"
                 "              --set \"k=v k2=v2\" (see `infertop options`)  -q (quiet)\n"
                 "exit codes: 0 ok, 1 runtime failure, 2 bad input\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 && isatty(0) && isatty(1)) {   /* plain `infertop` on a terminal: the TUI */
        struct cli_args a = {.cmd = "tui"};
        options_defaults(&a.opt);
        return cmd_tui(&a);
    }
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(COMMANDS[i].name, name) != 0) continue;
        if (COMMANDS[i].run_argv) return COMMANDS[i].run_argv(argc - 2, argv + 2);
        if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            printf("usage: infertop %s %s\n    %s\n", COMMANDS[i].name, COMMANDS[i].args, COMMANDS[i].what);
            if (!strcmp(name, "distill"))
                printf("\nSHAPE: LAYERSxDIM (2x576) or layers=N,dim=N,heads=N,kv_heads=N,ffn=N; training knobs are\n"
                       "the train_* options (`infertop options`): --set \"train_lr=3e-4 train_batch=8\".\n"
                       "Ctrl-C saves OUT.ckpt and exits (status 130); --resume OUT.ckpt continues.\n");
            return 0;
        }
        struct cli_args a = {.cmd = name};
        options_defaults(&a.opt);
        if (cli_parse(argc - 2, argv + 2, &a) < 0) return EXIT_BAD_INPUT;
        return COMMANDS[i].run(&a);
    }
    cli_error("%s: unknown command (expected one of: tui, generate, bench, ab, eval, replay, plan, options, scenarios, keys, models, speed, distill, help)", name);
    return EXIT_BAD_INPUT;
}
