#!/usr/bin/env bash
# The LoRA measurement (issue 20, item 3): teach the shipped model a colour it has never seen, from at most 100 clips,
# in at most 30 minutes of training on 2 cores, then check that prompts with the new word produce it and that the
# base metrics on the world's own prompts hold.
#   bench/lora/run.sh [OUT] [MINUTES]          (defaults: runs/lora-bench, 30)
#   knobs (environment): STEPS (1000), LR (1e-3), PRIOR (world clips mixed in for prior preservation, 0: none),
#   PRIOR_SHARE (0.5), OBJECT_WEIGHT (0), RANK (8), TARGETS (all; e.g. cross-attention; none: the new word alone),
#   NEW_WORD (teach the colour's word as a new token with its own embedding, textual inversion: e.g. olive),
#   INIT_WORD (the known word it starts from, e.g. yellow), WORD_BLOCKS (1: also per-block offsets, P+),
#   NEW_COLOUR (word=R,G,B; default olive=128,128,0)
# 1) bench/lora/clips.cs makes 100 world clips whose red objects are painted olive and captioned "olive" (OUT/data,
#    with their truth), and 24 held-out captions with the word (OUT/prompts.txt); 24 of the clips go through the
#    base's VAE and back (OUT/vae-ceiling: how often the colour survives the latent space at all); with PRIOR,
#    `data synth` renders that many ordinary world clips at the model's size into OUT/prior;
# 2) train lora on them (rank RANK on TARGETS) for at most MINUTES, into OUT/lora (rerun to resume);
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

steps=${STEPS:-1000} lr=${LR:-1e-3} prior=${PRIOR:-0} share=${PRIOR_SHARE:-0.5} weight=${OBJECT_WEIGHT:-0}
rank=${RANK:-8} targets=${TARGETS:-all}
words=()
[[ -n ${NEW_WORD:-} ]] && words+=(--new-word "$NEW_WORD")
[[ -n ${INIT_WORD:-} ]] && words+=(--init-word "$INIT_WORD")
[[ -n ${WORD_BLOCKS:-} ]] && words+=(--word-blocks)
frames=$(sed -n 's/.*"frames": *\([0-9]*\).*/\1/p' "$base/spacetime.json")          # the base's clip length
[[ -f $out/prompts.txt ]] || "${clips[@]}" make "$out" 100 24 "$frames"
# the ceiling: 24 training clips through the base's VAE and back (no adapter can show the colour more often than this)
if [[ -d $base/vae && ! -f $out/vae-ceiling/done ]]; then
    mkdir -p "$out/vae-ceiling"
    for clip in $(ls "$out/data/clips" | head -24); do
        ./spacetime vae reconstruct --vae "$base/vae" -i "$out/data/clips/$clip" -o "$out/vae-ceiling/$clip" > /dev/null
    done
    touch "$out/vae-ceiling/done"
fi
mix=()
if (( prior > 0 )); then
    [[ -f $out/prior/captions.jsonl ]] || ./spacetime data synth --count "$prior" --sizes 128x128 --seconds "$(awk -v f="$frames" 'BEGIN { print f / 8 }')" --fps 8 \
        --seed 9000000 --out "$out/prior"
    mix=(--prior "$out/prior" --prior-share "$share")
fi
./spacetime train lora --model "$base" --data "$out/data" --rank "$rank" --targets "$targets" --steps "$steps" --batch 8 --lr "$lr" \
    --object-weight "$weight" "${mix[@]}" "${words[@]}" --checkpoint-every 50 --max-minutes "$minutes" --out "$out/lora" < /dev/null
rm -rf "$out/merged"
./spacetime lora merge --model "$base" --lora "$out/lora" --out "$out/merged"

# the base model's videos and evaluation depend only on the prompts: kept when OUT already has them (a copied OUT)
for which in base lora; do
    model=$base; [[ $which == lora ]] && model=$out/merged
    [[ $which == base && -f $out/gen-base/023.gif ]] && continue
    mkdir -p "$out/gen-$which"
    seed=0
    while IFS= read -r caption; do
        ./spacetime generate "$caption" --model "$model" --expand none --seed "$seed" \
            --out "$out/gen-$which/$(printf '%03d' "$seed").gif" > /dev/null
        seed=$((seed + 1))
    done < "$out/prompts.txt"
done
"${clips[@]}" score $([[ -d $out/vae-ceiling ]] && echo "$out/vae-ceiling") "$out/gen-base" "$out/gen-lora" \
    | tee "$out/score.md"

[[ -f $out/eval-base/report.md ]] || ./spacetime eval --model "$base" --prompts 24 --out "$out/eval-base"
./spacetime eval --model "$out/merged" --prompts 24 --out "$out/eval-lora"
echo "compare $out/eval-base/report.md with $out/eval-lora/report.md; the new colour against red: $out/score.md"
