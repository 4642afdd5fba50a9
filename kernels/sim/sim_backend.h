/* kernels/sim/sim_backend.h — the simulated device (DESIGN.md, layer 2).
 *
 * A backend that computes nothing: every op slot returns at once, and the
 * op's duration is SIMULATED from its kernel record (the modeled FLOPs and
 * bytes of kernels/cost.c) by the roofline of a described device with its
 * efficiency curves (kernels/roofline.h). Memory is address space only
 * (mmap PROT_NONE, MAP_NORESERVE): a 70B model's KV pool and activations cost
 * no RAM, and any read or write of them faults — nothing may touch the data
 * of a simulated device. Downloads give zeros, so the sampler sees all-equal
 * logits and picks deterministic tokens; outputs keep the scenario's lengths.
 * be->simulated is true; device_name and reason say SIMULATED. */
#ifndef INFERTOP_SIM_BACKEND_H
#define INFERTOP_SIM_BACKEND_H

#include "kernels/backend.h"
#include "kernels/roofline.h"

/* A simulated device of the numbers in d (copied); spec is what the user
 * asked for ("sim:h100x8"), for the reason line. NULL when out of memory. */
struct backend *sim_backend_create(const struct roof_device *d, const char *spec);

/* n simulated devices out[0..n) for tensor/pipeline parallelism, each ONE
 * device of tmpl's group (tmpl simulates the aggregate of its xN: every
 * figure ÷ N), out[k]->device = k; their comm ops move timelines through
 * kernels/comm.c's communicator, timed by roof_comm_time from the link's
 * bandwidth and latency. 0; -1 with one line in err when n exceeds tmpl's
 * device count or memory runs out (nothing is left created). */
int sim_backend_create_group(const struct backend *tmpl, int n, struct backend **out, char *err, size_t errlen);

/* Set the bytes the simulated device re-reads every step (the model's
 * weights on it: the roofline's last-level-cache tier) after the weights
 * changed; nothing when be is not a sim backend. */
void sim_backend_set_reuse_bytes(struct backend *be, double bytes);

/* The device the backend simulates (NULL when be is not a sim backend). */
const struct roof_device *sim_backend_device(const struct backend *be);

#endif
