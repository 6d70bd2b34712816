#!/usr/bin/env bash
# bench/ship/pictures.sh [MODEL] [OUT]: redraws the README's pictures of the generation modes from a model folder
# (default models/spacetime into docs/modes), one `generate` per mode on world clips rendered by the simulator, and
# prints each command's summary line (size, frames, steps, seconds) and, for chunked videos, its drift line. Run it after
# a new model is shipped, then look at the pictures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
model="${1:-models/spacetime}"
out="${2:-docs/modes}"
st=(./spacetime)
[[ -n "${SPACETIME_DLL:-}" ]] && st=(dotnet "$SPACETIME_DLL")   # a copied build, so that a rebuild cannot disturb it
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
for seed in 4 11 21; do
  "${st[@]}" world render --seed "$seed" --size 128x128 --seconds 2 --fps 8 --out "$work/w$seed.y4m" > /dev/null
done
ffmpeg -loglevel error -y -i "$work/w21.y4m" -frames:v 1 "$work/w21.png"   # frame 0 as the image prompt

gen() {   # gen NAME ARGS...: one mode, written as a contact sheet; prints the command, its summary and drift lines
  local name="$1"; shift
  echo "== $name: generate $*"
  local start=$SECONDS
  "${st[@]}" generate "$@" --model "$model" --seed 0 --out "$out/$name.png" 2>&1 | grep -E '^(drift|[0-9]+x[0-9]+, )'
  echo "   ($((SECONDS - start)) s)"
}
gen text "a red ball bounces to the right"
gen image "a green square falls and bounces" --image "$work/w21.png"
gen edit "a yellow circle bounces on the floor" --video "$work/w4.y4m" --strength 0.6
gen extend "a purple circle bounces on the floor" --extend "$work/w4.y4m" --seconds 3
gen extend-backward "a purple circle bounces on the floor" --extend "$work/w4.y4m" --backward
gen loop "an orange circle rolls to the right" --loop
gen connect "a cyan circle moves to the right" --connect "$work/w4.y4m" "$work/w11.y4m"
gen long "a red ball bounces to the right" --seconds 8
