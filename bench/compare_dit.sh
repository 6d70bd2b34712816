#!/usr/bin/env bash
# Our `dit-step` next to two peers, same model, same cores, one run: LibTorch 2.10 through TorchSharp 0.107 with fused
# SDPA attention (bench/torchsharp/run.sh; the modern peer) and Debian's PyTorch 1.13 (shared/perf/py/dit_bench.py).
#
#   bench/compare_dit.sh [s] [b] [s2048]        (no argument: s and b)
#     s      DiT-S  (D 384, 6 heads)  on a 8 x 16 x 16 latent, 1x2x2 patches -> 512 tokens, batch 8 (PERF.md)
#     b      DiT-B  (D 768, 12 heads) on the same latent
#     s2048  DiT-S/2 on a 8 x 32 x 32 latent -> 2048 tokens (issue 5 item 7), batch $BATCH_2048
#   env: THREADS (2)  DEPTH (12)  REPS (5)  PEAK (GFLOP/s for MFU; unset: `dit-step` measures this machine's FMA peak itself)
#        BATCH_2048 (8)  DIT_BENCH (path of dit_bench.py)  NO_BUILD=1 (reuse the Release build)
#        NO_LIBTORCH=1 (leave the LibTorch column out, e.g. where NuGet's TorchSharp-cpu is not at hand)
#        NO_PYTORCH=1 (leave PyTorch 1.13 out: on some CPUs it takes 4x ours, and the modern peer is LibTorch)
#        ROUNDS (1): each case runs the engines in turn ROUNDS times (LibTorch, PyTorch, ours, LibTorch, ...), and
#        the table takes each engine's median over its rounds: on a noisy host, alternation spreads the noise evenly
#
# PyTorch runs with the best settings of shared/PERF.md: OMP_WAIT_POLICY=PASSIVE, OPENBLAS_CORETYPE unset,
# Debian's /usr/bin/python3 (apt-get install -y python3-torch), torch.set_num_threads(THREADS) (the script does it).
# The script is imported as a module and its main() runs unchanged (nothing of it is copied): for s2048 its VideoDiT
# and input are resized (the script fixes 8 x 16 x 16), and its perf_counter calls also note the CPU time. Prints
# each engine's JSON line, then a table: wall seconds (medians) of the three, our speed-up over each peer (its seconds
# / ours; > 1 means we are faster), our GFLOP/s and MFU, and CPU-seconds per call (all threads) of the three, which
# are steadier when the machine is shared and oversubscribed. Compare only ratios measured in one run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${THREADS:-2}; DEPTH=${DEPTH:-12}; REPS=${REPS:-5}; PEAK=${PEAK:-0}; BATCH_2048=${BATCH_2048:-8}
ROUNDS=${ROUNDS:-1}
for cand in "${DIT_BENCH:-}" "$ROOT/../shared/perf/py/dit_bench.py" "$ROOT/shared/perf/py/dit_bench.py" \
            /work/shared/perf/py/dit_bench.py; do
  if [[ -n "$cand" && -f "$cand" ]]; then DIT_BENCH=$cand; break; fi
done
[[ -f "${DIT_BENCH:-}" ]] || { echo "dit_bench.py not found; set DIT_BENCH" >&2; exit 1; }
[[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null \
  || { echo "PyTorch missing: apt-get install -y python3-torch" >&2; exit 1; }
# Debian's PyTorch does its GEMMs in whatever libblas.so.3 the system links: without OpenBLAS that is the reference
# BLAS (measured: 6 GFLOP/s on a 1024^3 product, against ~100 with OpenBLAS), which would make the peer look 15x slow.
[[ "$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null)" == *openblas* ]] \
  || { echo "libblas.so.3 is not OpenBLAS, so PyTorch would run on the reference BLAS:" \
            "apt-get install -y libopenblas-dev" >&2; exit 1; }

DLL=$ROOT/bench/Spacetime.Benchmarks/bin/Release/net10.0/Spacetime.Benchmarks.dll
if [[ "${NO_BUILD:-}" != 1 || ! -f "$DLL" ]]; then
  dotnet build -c Release "$ROOT/bench/Spacetime.Benchmarks" -v q -nologo >&2
fi

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT

# ours NAME HIDDEN HEADS BATCH FRAMES SIZE
ours() {
  local line
  local args=(--hidden "$2" --heads "$3" --depth "$DEPTH" --batch "$4" --frames "$5" --size "$6" --threads "$THREADS"
              --reps "$REPS")
  [[ "$PEAK" != 0 ]] && args+=(--peak "$PEAK")
  line=$(dotnet "$DLL" dit-step "${args[@]}" | tail -n 1)
  echo "ours    $1: $line" >&2
  echo "$1 ours $line" >> "$OUT"
}

# torch NAME HIDDEN HEADS BATCH FRAMES SIZE
torch_peer() {
  local line
  local args=(--hidden "$2" --heads "$3" --depth "$DEPTH" --batch "$4" --threads "$THREADS" --reps "$REPS")
  [[ "$PEAK" != 0 ]] && args+=(--peak "$PEAK")
  line=$(OMP_WAIT_POLICY=PASSIVE env -u OPENBLAS_CORETYPE /usr/bin/python3 - "$DIT_BENCH" "$5" "$6" "${args[@]}" \
         <<'PY' | tail -n 1
# Runs dit_bench.py's own main() with two things around it: the latent is T x S x S (its VideoDiT built for that
# size, its x = randn(B, 4, 8, 16, 16) drawn that size; 8 x 16 x 16 changes nothing), and each time.perf_counter()
# call of the script also notes the process CPU time, so the JSON line gains fwd_cpu_s_median and
# train_cpu_s_median (CPU-seconds per call, all threads), as ours reports.
import contextlib, importlib.util, io, json, statistics, sys, time, torch
path, T, S = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
spec = importlib.util.spec_from_file_location("dit_bench", path)
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
class TorchResized:
    def __getattr__(self, name): return getattr(torch, name)
    @staticmethod
    def randn(*shape, **kw):
        if tuple(shape[1:]) == (4, 8, 16, 16): shape = (shape[0], 4, T, S, S)
        return torch.randn(*shape, **kw)
cpu = []
class TimeNoting:
    def __getattr__(self, name): return getattr(time, name)
    @staticmethod
    def perf_counter():
        cpu.append(time.process_time()); return time.perf_counter()
m.torch, m.time = TorchResized(), TimeNoting()
video_dit = m.VideoDiT
m.VideoDiT = lambda **kw: video_dit(T=T, H=S, W=S, **kw)
sys.argv = [path] + sys.argv[4:]
out = io.StringIO()
with contextlib.redirect_stdout(out): m.main()
r = json.loads(out.getvalue().strip().splitlines()[-1])
# The script reads the clock once in each of its 2 warm-up calls, then twice (start, end) in each of its reps
# timed calls; forward loop first, then the training loop.
reps = (len(cpu) // 2 - 2) // 2
def spans(first): return [cpu[first + 2 * k + 1] - cpu[first + 2 * k] for k in range(reps)]
r["fwd_cpu_s_median"] = round(statistics.median(spans(2)), 3)
r["train_cpu_s_median"] = round(statistics.median(spans(2 + 2 + 2 * reps)), 3)
print(json.dumps(r))
PY
)
  echo "pytorch $1: $line" >&2
  echo "$1 torch $line" >> "$OUT"
}

# libtorch NAME HIDDEN HEADS BATCH FRAMES SIZE
libtorch_peer() {
  local line
  line=$("$ROOT/bench/torchsharp/run.sh" --hidden "$2" --heads "$3" --depth "$DEPTH" --batch "$4" --frames "$5" \
           --size "$6" --threads "$THREADS" --reps "$REPS")
  echo "libtorch $1: $line" >&2
  echo "$1 libtorch $line" >> "$OUT"
}

run_case() {   # NAME HIDDEN HEADS BATCH FRAMES SIZE
  local round
  for ((round = 0; round < ROUNDS; round++)); do
    [[ "${NO_LIBTORCH:-}" == 1 ]] || libtorch_peer "$@"
    [[ "${NO_PYTORCH:-}" == 1 ]] || torch_peer "$@"
    ours "$@"
  done
}

modes=("$@"); [[ ${#modes[@]} -eq 0 ]] && modes=(s b)
echo "# $(date -u +%FT%TZ)  $(git -C "$ROOT" rev-parse --short HEAD)  threads $THREADS  reps $REPS  rounds $ROUNDS  peak $PEAK  $(nproc) cpus," \
     "load $(cut -d' ' -f1-3 /proc/loadavg)  dit_bench: $DIT_BENCH" >&2
for mode in "${modes[@]}"; do
  case $mode in
    s) run_case "DiT-S 512 tok b8" 384 6 8 8 16 ;;
    b) run_case "DiT-B 512 tok b8" 768 12 8 8 16 ;;
    s2048) run_case "DiT-S/2 2048 tok b$BATCH_2048" 384 6 "$BATCH_2048" 8 32 ;;
    *) echo "unknown mode '$mode' (s, b, s2048)" >&2; exit 2 ;;
  esac
done

/usr/bin/python3 - "$OUT" <<'PY'
# One row per case and call (forward, training step): wall seconds (medians) of each engine, our speed-up over each
# peer (peer seconds / ours; > 1 means we are faster), our GFLOP/s and MFU (the model's FLOPs as our bench counts them,
# which are the peers' too), and CPU-seconds per call (all threads), steadier than wall time on a shared machine.
# With ROUNDS > 1 each figure is the median of that engine's rounds.
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    head, js = line.split("{", 1)
    name, engine = head.rsplit(" ", 2)[0], head.split()[-1]
    runs.setdefault(name, {}).setdefault(engine, []).append(json.loads("{" + js))
def median_of(rounds):
    keys = [k for k, v in rounds[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {k: statistics.median(r[k] for r in rounds) for k in keys}
rows = {name: {engine: median_of(rounds) for engine, rounds in r.items()} for name, r in runs.items()}
nan = float("nan")
def f(v, spec): return format(v, spec) if v == v else format("-", spec[:-2].rstrip(".") or ">")
print(f"{'case':<22}{'':>6}{'ours s':>8}{'libtorch s':>11}{'pytorch s':>10}{'vs libtorch':>12}{'vs pytorch':>11}"
      f"{'ours GF/s':>10}{'ours MFU':>9}{'cpu-s ours':>11}{'libtorch':>9}{'pytorch':>8}")
for name, r in rows.items():
    o = r.get("ours")
    if not o: continue
    lt, pt = r.get("libtorch", {}), r.get("torch", {})
    for what, sk, gk, mk, ck in (("fwd", "fwd_s_median", "fwd_GFLOPs", "fwd_MFU", "fwd_cpu_s_median"),
                                 ("train", "train_step_s_median", "train_GFLOPs", "train_MFU", "train_cpu_s_median")):
        ls, ps = lt.get(sk, nan), pt.get(sk, nan)
        print(f"{name:<22}{what:>6}{o[sk]:>8.3f}{f(ls, '>11.3f')}{f(ps, '>10.3f')}{f(ls / o[sk], '>11.2f')}x"
              f"{f(ps / o[sk], '>10.2f')}x{o[gk]:>10.1f}{f(o.get(mk, nan), '>9.3f')}{o[ck]:>11.3f}"
              f"{f(lt.get(ck, nan), '>9.3f')}{f(pt.get(ck, nan), '>8.3f')}")
PY
