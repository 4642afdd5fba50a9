/* kernels/cpu/cpu_simd.c — which vector instruction set the processor runs.
 * Chosen at run time so one binary uses AVX-512 where present and still runs
 * on a machine with only SSE2. */
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/quant_amx.h"

#include <string.h>

/* AVX-512 path needs F (512-bit FMA), BW+VL (16-bit masked loads) and F16C;
 * AVX2 path needs AVX2, FMA and F16C. __builtin_cpu_supports also checks that
 * the OS saves the wide registers. AMX on top of AVX-512: quant_amx_available
 * (CPUID, XCR0 and the arch_prctl permission). */
enum cpu_simd cpu_simd_detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    bool f16c = __builtin_cpu_supports("f16c");
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && f16c)
        return quant_amx_available(NULL) ? CPU_SIMD_AMX : CPU_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c)
        return CPU_SIMD_AVX2;
#endif
    return CPU_SIMD_SCALAR;
}

const char *cpu_simd_name(enum cpu_simd s)
{
    switch (s) {
    case CPU_SIMD_SCALAR: return "scalar";
    case CPU_SIMD_AVX2:   return "avx2";
    case CPU_SIMD_AVX512: return "avx512";
    case CPU_SIMD_AMX:    return "amx";
    }
    return "?";
}

bool cpu_simd_parse(const char *name, enum cpu_simd *out)
{
    for (int s = CPU_SIMD_SCALAR; s <= CPU_SIMD_AMX; s++)
        if (strcmp(name, cpu_simd_name((enum cpu_simd)s)) == 0) {
            *out = (enum cpu_simd)s;
            return true;
        }
    return false;
}
