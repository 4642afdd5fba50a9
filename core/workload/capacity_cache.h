/* core/workload/capacity_cache.h — measured capacities kept between runs, so
 * the TUI's workload at "0.8x" starts at once the second time.
 *
 * One small text file per (model, backend and machine, options, scenario
 * probe) under $XDG_CACHE_HOME/infertop/capacity/ (default ~/.cache/...):
 *     infertop-capacity 1
 *     key <the full key, one line>
 *     capacity <req/s>
 * The file name is a 64-bit hash of the key; the key itself is compared on
 * load, so a collision or an edited file is a miss, never a wrong value. A
 * missing, stale (other key), truncated or corrupt file (not this format, a
 * capacity that is not a finite number in (0, 1e9)) is simply a miss: the
 * probe runs and the file is replaced (temp file + rename). Delete the folder
 * to measure everything again. */
#ifndef INFERTOP_CAPACITY_CACHE_H
#define INFERTOP_CAPACITY_CACHE_H

#include "core/model/model.h"
#include "core/workload/run.h"

#include <stdbool.h>
#include <stddef.h>

#define CAPACITY_CACHE_KEY_MAX 4096

/* The key of a probe: model source, backend name, device name and threads,
 * every option's value, and the scenario's probe inputs (file, seed, prompt
 * and output lengths). One line. */
void capacity_cache_key(const struct model *m, const struct backend *be, const struct run_setup *b,
                        char *key, size_t n);

/* The file for `key`: false when no cache folder can be named (neither
 * XDG_CACHE_HOME nor HOME is set to an absolute path). */
bool capacity_cache_path(const char *key, char *path, size_t n);

/* The capacity stored at `path` for `key`; false on any miss (see above). */
bool capacity_cache_load(const char *path, const char *key, double *cap);

/* Store cap for key at path, creating the folders. 0 ok; -1 with one line in
 * err (nothing half-written is left). */
int capacity_cache_store(const char *path, const char *key, double cap, char *err, size_t errlen);

#endif
