#!/usr/bin/env bash
# The LoRA measurement (issue 20, item 3): teach the shipped model a colour it has never seen, from at most 100 clips,
# in at most 30 minutes of training on 2 cores, then check that prompts with the new word produce it and that the
# base metrics on the world's own prompts hold.
#   bench/lora/run.sh [OUT] [MINUTES]          (defaults: runs/lora-bench, 30)
# 1) bench/lora/clips.cs makes 100 world clips whose red objects are painted olive and captioned "olive" (OUT/data),
#    and 24 held-out captions with the word (OUT/prompts.txt);
# 2) train lora on them (rank 8, every target) for at most MINUTES, into OUT/lora (rerun to resume);
# 3) merge the adapter into a model folder (OUT/merged);
# 4) generate every held-out caption (as written: --expand none, since the built-in expander does not know the word)
#    with the base model and with the merged one, same seeds, and score how often olive (and red) shows (OUT/score.md);
# 5) `spacetime eval` the base and the merged model on the same held-out world prompts (OUT/eval-base, OUT/eval-lora):
#    compare the two report.md files.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/lora-bench}
minutes=${2:-30}
base=models/spacetime
clips=(dotnet run bench/lora/clips.cs --)
./spacetime --help > /dev/null                                                  # build once

[[ -f $out/prompts.txt ]] || "${clips[@]}" make "$out" 100 24
./spacetime train lora --model "$base" --data "$out/data" --rank 8 --steps 1000 --batch 8 --lr 1e-3 \
    --checkpoint-every 50 --max-minutes "$minutes" --out "$out/lora" < /dev/null
rm -rf "$out/merged"
./spacetime lora merge --model "$base" --lora "$out/lora" --out "$out/merged"

for which in base lora; do
    model=$base; [[ $which == lora ]] && model=$out/merged
    mkdir -p "$out/gen-$which"
    seed=0
    while IFS= read -r caption; do
        ./spacetime generate "$caption" --model "$model" --expand none --seed "$seed" \
            --out "$out/gen-$which/$(printf '%03d' "$seed").gif" > /dev/null
        seed=$((seed + 1))
    done < "$out/prompts.txt"
done
"${clips[@]}" score "$out/gen-base" "$out/gen-lora" | tee "$out/score.md"

./spacetime eval --model "$base" --prompts 24 --out "$out/eval-base"
./spacetime eval --model "$out/merged" --prompts 24 --out "$out/eval-lora"
echo "compare $out/eval-base/report.md with $out/eval-lora/report.md; olive vs red: $out/score.md"
