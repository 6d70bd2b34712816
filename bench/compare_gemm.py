#!/usr/bin/env python3
"""Our GEMM next to OpenBLAS on the shared/PERF.md shapes (row-major NN), side by side in one run.

    python3 bench/compare_gemm.py [--threads 1,2] [--rounds 1]

Builds shared/perf/blasbench.c against OpenBLAS (apt-get install -y libopenblas-dev if the header is missing),
runs it with OPENBLAS_CORETYPE unset (the environment's Haswell setting halves OpenBLAS, PERF.md trap 1), then
`dotnet run -c Release --project bench/Spacetime.Benchmarks -- matmul` for the same thread count, alternating
which goes first each round. Prints GFLOP/s medians over rounds and the ratio ours / OpenBLAS. For the batched
shape the OpenBLAS figure is the better of its own threading and the batch split over OpenMP threads.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = [os.environ.get("BLASBENCH_SRC", ""), os.path.join(ROOT, "shared/perf/blasbench.c"),
           "/work/shared/perf/blasbench.c"]


def build_blasbench():
    src = next((s for s in SOURCES if s and os.path.exists(s)), None)
    if src is None:
        sys.exit("blasbench.c not found; set BLASBENCH_SRC")
    if not any(os.path.exists(p) for p in ("/usr/include/cblas.h", "/usr/include/x86_64-linux-gnu/cblas.h")):
        subprocess.run(["apt-get", "install", "-y", "libopenblas-dev"], check=True, stdout=subprocess.DEVNULL)
    exe = os.path.join(tempfile.mkdtemp(), "blasbench")
    subprocess.run(["gcc", "-O2", "-fopenmp", src, "-o", exe, "-lopenblas"], check=True)
    return exe


def run_openblas(exe, threads):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    out = subprocess.run([exe, str(threads)], env=env, check=True, capture_output=True, text=True).stdout
    core, best = "?", {}
    for line in out.splitlines():
        if line.startswith("# core="):
            core = line.split()[1].split("=")[1]
        m = re.match(r"M=(\d+) K=(\d+) N=(\d+) batch=(\d+).*?median ([\d.]+) GFLOP/s", line)
        if m:
            key = tuple(int(x) for x in m.groups()[:4])
            best[key] = max(best.get(key, 0.0), float(m.group(5)))
    return core, best


def run_ours(dll, threads):
    out = subprocess.run(["dotnet", dll, "matmul", "--layouts", "NN", "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            res[(r["m"], r["k"], r["n"], r["batch"])] = r["gflops"]
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=1)
    a = ap.parse_args()
    exe = build_blasbench()
    subprocess.run(["dotnet", "build", "-c", "Release", os.path.join(ROOT, "bench/Spacetime.Benchmarks"),
                    "--nologo", "-v", "q"], check=True, stdout=subprocess.DEVNULL)
    dll = os.path.join(ROOT, "bench/Spacetime.Benchmarks/bin/Release/net10.0/Spacetime.Benchmarks.dll")
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"# commit {commit}, {os.cpu_count()} cores, {a.rounds} round(s), medians; OpenBLAS with OPENBLAS_CORETYPE unset")
    print(f"{'threads':>7} {'M':>5} {'K':>5} {'N':>5} {'batch':>5} {'ours':>8} {'OpenBLAS':>9} {'ratio':>6}")
    for t in [int(x) for x in a.threads.split(",")]:
        ours, blas, core = {}, {}, "?"
        for rnd in range(a.rounds):
            steps = [("blas", run_openblas), ("ours", run_ours)]
            for name, _ in (steps if rnd % 2 == 0 else steps[::-1]):
                if name == "blas":
                    core, r = run_openblas(exe, t)
                    for k, v in r.items(): blas.setdefault(k, []).append(v)
                else:
                    for k, v in run_ours(dll, t).items(): ours.setdefault(k, []).append(v)
        for key in ours:
            o, b = statistics.median(ours[key]), statistics.median(blas.get(key, [float("nan")]))
            print(f"{t:>7} {key[0]:>5} {key[1]:>5} {key[2]:>5} {key[3]:>5} {o:>8.1f} {b:>9.1f} {o / b:>6.2f}")
        print(f"# OpenBLAS core: {core}")


if __name__ == "__main__":
    main()
