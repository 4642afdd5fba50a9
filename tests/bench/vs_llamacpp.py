#!/usr/bin/env python3
"""infertop vs llama.cpp's own benchmark tools, rounds alternating (make bench).

usage: vs_llamacpp.py LLAMA_BIN ROUNDS FILE...

For each GGUF file and thread count (1, 2), ROUNDS rounds; each round runs
`infertop speed` and then llama.cpp's tool on the same test, and the ratio
of that round is ours / theirs. Printed: the median of the per-round ratios
(and the medians of each side's t/s), so a load spike that hits one round
moves one ratio, not the result.

Tests (llama-bench's protocol: -r 3 repetitions after a warm-up, t/s mean):
  pp512          prefill of 512 tokens;
  tg64           64 decode steps on an empty cache;
  tg64 @ d512    64 decode steps after 512 cached tokens (the decode goal);
llama-bench runs with -fa 0 and -fa 1 and the better of the two counts.
Batched decode (llama-batched-bench -npp 128 -ntg 64 -npl 1,4,8,16, S_TG)
vs `infertop speed -n 64 -d 128 -b 1,4,8,16` (B sequences, each 64 decode
steps after 128 cached tokens; t/s over all of them, as S_TG).

llama.cpp runs with its default weight repacking, except where the CPU
reports AMX (amx_tile in /proc/cpuinfo): there repacking is off (--repack 0 /
--no-repack) because on the Intel Xeon VM its repacked AMX path died with
SIGILL (the AMX tile registers were not usable). Without AMX, repacking picks
llama.cpp's interleaved AVX2 / AVX-512 kernels for the formats it repacks
(q4_0, q4_K, q8_0, ...), its fastest path, so it stays on.
"""
import json
import os
import statistics
import subprocess
import sys

BIN = "bin/infertop"


def cpu_has_amx():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " amx_tile" in line for line in f)
    except OSError:
        return False


NO_REPACK = cpu_has_amx()


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"vs_llamacpp: {' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
    return p.stdout


def ours(path, threads, args):
    out = json.loads(run([BIN, "speed", "-m", path, "-t", str(threads), "-r", "3", "-o", "json", "-q"] + args))
    return {(r["test"], r["n_seq"]): r["avg_ts"] for r in out}


def llama_bench(lbin, path, threads, args):
    out = json.loads(run([os.path.join(lbin, "llama-bench"), "-m", path, "-t", str(threads), "-r", "3",
                          "-fa", "0,1", "-o", "json"] + (["--repack", "0"] if NO_REPACK else []) + args))
    best = {}
    for r in out:
        name = f"pp{r['n_prompt']}" if r["n_prompt"] else f"tg{r['n_gen']}"
        if r.get("n_depth", 0):
            name += f" @ d{r['n_depth']}"
        best[(name, 1)] = max(best.get((name, 1), 0), r["avg_ts"])
    return best


def llama_batched(lbin, path, threads, pls):
    out = run([os.path.join(lbin, "llama-batched-bench"), "-m", path, "-t", str(threads), "-tb", str(threads),
               "-c", "4096", "-b", "2048", "-ub", "512", "-npp", "128", "-ntg", "64", "-npl",
               ",".join(map(str, pls)), "--output-format", "jsonl"] + (["--no-repack"] if NO_REPACK else []))
    res = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            res[("tg64 @ d128", r["pl"])] = r["speed_tg"]
    return res


def main():
    lbin, rounds, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    pls = [1, 4, 8, 16]
    print(f"llama.cpp weight repacking: {'off (AMX present: its repacked AMX path crashed on the Intel VM)' if NO_REPACK else 'on (its default; no AMX)'}")
    print(f"{'file':<34} {'thr':>3} {'test':<15} {'B':>3} {'infertop':>10} {'llama.cpp':>10} {'ratio':>7}  "
          f"(median of {rounds} alternating rounds)")
    for path in files:
        for t in (1, 2):
            ratios, mine, theirs = {}, {}, {}
            for _ in range(rounds):
                pairs = [
                    (ours(path, t, ["-p", "512", "-n", "64", "-d", "0"]),
                     llama_bench(lbin, path, t, ["-p", "512", "-n", "64", "-d", "0"])),
                    (ours(path, t, ["-p", "0", "-n", "64", "-d", "512"]),
                     llama_bench(lbin, path, t, ["-p", "0", "-n", "64", "-d", "512"])),
                    (ours(path, t, ["-p", "0", "-n", "64", "-d", "128", "-b", ",".join(map(str, pls))]),
                     llama_batched(lbin, path, t, pls)),
                ]
                for a, b in pairs:
                    for k, v in a.items():
                        if k in b and b[k] > 0:
                            ratios.setdefault(k, []).append(v / b[k])
                            mine.setdefault(k, []).append(v)
                            theirs.setdefault(k, []).append(b[k])
            for k in ratios:
                test, b = k
                print(f"{os.path.basename(path):<34} {t:>3} {test:<15} {b:>3} {statistics.median(mine[k]):>10.2f} "
                      f"{statistics.median(theirs[k]):>10.2f} {statistics.median(ratios[k]):>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
