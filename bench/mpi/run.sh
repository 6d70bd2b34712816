#!/usr/bin/env bash
# bench/mpi/run.sh: data-parallel training, one process against N ranks under mpirun, each with ONE thread, in
# steps/s, clips/s and the allreduce's share of a step. Weak scaling: --batch is per rank, so N ranks train N times
# the clips of a step. Step rates come from loss.csv's seconds column between the first and last logged steps (setup,
# the first step and the final checkpoint are left out); the allreduce time is what rank 0 reports: the gradient
# transfer, apart from the time it waited for the slower rank at the end of each step (shown beside it).
#
#   bench/mpi/run.sh                          # RANKS=2 STEPS=12, the default cases below
#   RANKS=2 STEPS=30 CASES="vae:world:1 dit:tiny:4" bench/mpi/run.sh
#
# A case is COMMAND:RECIPE:BATCH for `spacetime train COMMAND --recipe RECIPE --batch BATCH`. Prints a Markdown table.
# Timings are only comparable on a quiet machine: the load average is printed before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks="${RANKS:-2}"; steps="${STEPS:-12}"
cases="${CASES:-dit:tiny:4 classifier:world:8 vae:world:1}"
command -v mpirun >/dev/null || { echo "mpirun not found: install Open MPI (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 2; }
./spacetime --help >/dev/null                                   # builds .spacetime-build/ once
cli=(dotnet .spacetime-build/spacetime.dll)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 NO_COLOR=1 DOTNET_PROCESSOR_COUNT=1
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

# steps/s between the first and the last row of a loss.csv
rate() { awk -F, 'NR==2 {s0=$NF; n0=$1} END {printf "%.4f", ($1-n0)/($NF-s0)}' "$1"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; commit $(git rev-parse --short HEAD); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| case | params | 1 process steps/s | $ranks ranks steps/s | clips/s 1 -> $ranks | speed-up | allreduce per step | share of a step | waiting per step |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in $cases; do
  IFS=: read -r cmd recipe batch <<< "$c"
  args=(train "$cmd" --recipe "$recipe" --batch "$batch" --steps "$steps" --checkpoint-every 100000)
  "${cli[@]}" "${args[@]}" --out "$tmp/$cmd-1" > "$tmp/$cmd-1.log"
  mpirun --allow-run-as-root -np "$ranks" "${cli[@]}" "${args[@]}" --out "$tmp/$cmd-n" > "$tmp/$cmd-n.log"
  one="$(rate "$tmp/$cmd-1/loss.csv")"; many="$(rate "$tmp/$cmd-n/loss.csv")"
  ar="$(sed -n 's/.*(allreduce \([0-9.]*\) s.*/\1/p' "$tmp/$cmd-n.log")"
  wait="$(sed -n 's/.*waiting for other ranks \([0-9.]*\) s.*/\1/p' "$tmp/$cmd-n.log")"
  bytes="$(stat -c %s "$tmp/$cmd-1"/train/step-*/model.safetensors)"
  awk -v c="$c" -v one="$one" -v many="$many" -v ar="$ar" -v wait="$wait" -v steps="$steps" -v n="$ranks" -v b="$batch" -v bytes="$bytes" 'BEGIN {
    per = ar / steps                                          # seconds in the allreduce per step (rank 0)
    printf "| %s | %.2fM | %.3f | %.3f | %.2f -> %.2f | %.2fx | %.1f ms | %.1f%% | %.0f ms |\n", c, bytes / 4e6, one,
           many, one * b, many * b * n, many * n / one, 1000 * per, 100 * per * many, 1000 * wait / steps }'
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
