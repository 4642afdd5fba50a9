/* tui/cmd_speed.c — `infertop speed`: llama-bench-shaped model throughput
 * (core/workload/speed.h). Its flags are llama-bench's short ones (-p, -n,
 * -d, -t, -b, -r, -o), so it parses its own argv rather than cli_parse's. */
#include "core/workload/speed.h"
#include "tui/cli.h"

#include <stdio.h>

int cmd_speed(int argc, char **argv)
{
    struct options base;
    char err[768];
    static struct speed_args a;
    options_defaults(&base);
    if (speed_parse_args(argc, argv, &base, &a, err, sizeof err) < 0) {
        cli_error("speed: %s", err);
        return EXIT_BAD_INPUT;
    }
    if (a.help) {
        speed_usage(stdout);
        return 0;
    }
    int rc = speed_run(&a, &base, stdout, a.quiet ? NULL : stderr, err, sizeof err);
    if (rc) cli_error("%s", err);
    return rc;
}
