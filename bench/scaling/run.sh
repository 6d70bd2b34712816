#!/usr/bin/env bash
# The model-v2 scaling study (issue 15): the four world-v2-* DiTs trained on identical draws (same seed, same latent
# cache) to the same training compute, then plotted and tabulated by `spacetime eval scaling`.
#   bench/scaling/run.sh [BUDGET_TFLOP]        (default 100: about 15 minutes per run on 2 cores)
# Steps per run = budget / the recipe's mean cost of a step (DitFlops over the five buckets, batch 16; the runs log the
# exact cost of every step in loss.csv's tflop column, which the plot sums). Runs go to runs/study/<recipe>; a run
# that exists is resumed (exact), so the script can be stopped and started again. The latent cache is encoded once
# (by the first run) and copied into the others: it depends only on the seed, the clip sizes and the VAE.
set -euo pipefail
cd "$(dirname "$0")/../.."
budget=${1:-100}
./spacetime --help > /dev/null                                   # build once
build=$(mktemp -d /tmp/spacetime-study-XXXX)
cp -r .spacetime-build/. "$build"                                # the runs keep using this copy while sources change
declare -A cost=([world-v2-w256d6]=0.1530 [world-v2-w256d6-fact]=0.1742 [world-v2-w384d6]=0.3230 [world-v2-w256d12]=0.3053)
first=""
for recipe in world-v2-w256d6 world-v2-w256d6-fact world-v2-w384d6 world-v2-w256d12; do
    out=runs/study/$recipe
    steps=$(python3 -c "print(round($budget / ${cost[$recipe]}))")
    if [[ -n "$first" && ! -e $out/train/latents.safetensors ]]; then
        mkdir -p "$out/train" && cp "$first/train/latents.safetensors" "$out/train/"
    fi
    echo "== $recipe: $steps steps"
    nice -n 19 dotnet "$build/spacetime.dll" train dit --recipe "$recipe" --vae models/spacetime/vae --steps "$steps" \
        --batch 16 --lr 6e-4 --checkpoint-every 100 --out "$out" < /dev/null
    first=${first:-$out}
done
./spacetime eval scaling runs/study/world-v2-* --out runs/study
