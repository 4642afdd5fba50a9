/* core/plan/hw_cache.h — the text of the host row's cache file
 * ($XDG_CACHE_HOME/infertop/hw/host-<hash>.txt, written by hw_host.c):
 *
 *   infertop-hw 8
 *   key cpu=<model> backend=<device name>
 *   bandwidth <bytes/s>
 *   op_overhead_s <seconds>
 *   llc_bytes, llc_bw, near_bytes, near_bw <value>   the working-set tiers
 *   <format> <matmul FLOP/s>      one line per measured format, dtype order
 *   mm <format> <K> <N> <s> x8    seconds per weight element at m = 1 2 4 8 16 64 128 512, one
 *                                 line per profile shape (K 512 1536 4096 × N 128 1024
 *                                 4096, then 512 32768), dtype order
 *   attn <kind> <fixed s> <s per FLOP>   8 lines: naive|flash _ f32|f16 _ decode|prefill
 *   attn <kind>_q512 <fixed s> <s per FLOP>   4 lines: the prefill kinds at 512 queries
 *   small <op> <s> x4             rmsnorm swiglu add kv_store embed at 256 4096 65536
 *                                 1048576 elements; rope_h1 rope_h8 at 1 16 256 2048 tokens
 *   (the measured operator profile, struct roof_profile in kernels/roofline.h)
 *
 * Format 8 changed no line, only what the attention lines measure (the
 * probe's K/V blocks ascending, as the engine's, instead of shuffled); 7
 * added the 64- and 512-row matmul probes (prefill on up to 1024
 * weight rows) and times the small ops after a streaming matmul; 6 added
 * the 512-query prefill attention, 5 gave the matmul lines
 * their shapes (4 had one 1024x1024 shape, 3 no profile): an older file is
 * a miss.
 *
 * Values are finite numbers in (0, 1e18), printed with %.17g so a value read
 * back is the one written, to the bit. The file is untrusted input (anyone
 * can edit it): the parser checks every line and never reads past n. */
#ifndef INFERTOP_HW_CACHE_H
#define INFERTOP_HW_CACHE_H

#include "kernels/roofline.h"

#include <stdbool.h>
#include <stddef.h>

#define HW_CACHE_MAGIC "infertop-hw 8"
#define HW_CACHE_MAX_BYTES 65536      /* a larger file is not one of ours (format 7: about 42 KB) */

/* The formats the host row measures (and the file lists): every dense one;
 * the 2:4 formats run at their dense path's rate. */
bool hw_cache_measured(enum dtype t);

/* Parse text[0..n) (no NUL needed) for key into d's bw, op_overhead_s, the
 * tiers, wtype_flops and prof (nothing else is touched; d is unchanged on failure). 0 ok;
 * -1 with one line in err: "line L: expected ..." naming the field. */
int hw_cache_parse(const char *text, size_t n, const char *key, struct roof_device *d, char *err, size_t errlen);

/* The file's text for key and d into out[cap] (NUL-terminated); its length,
 * or -1 when it does not fit (or the key holds a newline). */
int hw_cache_format(const char *key, const struct roof_device *d, char *out, size_t cap);

#endif
