#!/usr/bin/env bash
# Rebuilds the ladder of base models of the model-scale study (docs/findings.md) into models/ladder/:
# remix-tiny's tokenizer, corpus and recipe (2 epochs of packed 256-token blocks, 6,881,280 tokens
# seen, lr 1e-3, batch 16, seed 0) at other widths, and at remix-tiny's size at other depths.
#   models/build-ladder.sh                 every rung, two at a time on one thread each
#   models/build-ladder.sh dim96-l4 ...    only these rungs
#   JOBS=1 THREADS=2 models/build-ladder.sh  one rung at a time on two threads
# Interrupted? Run it again: each rung resumes from its last checkpoint; finished rungs are not retrained.
# Each rung's model card (models/ladder/NAME/MODEL_CARD.md) is written from its run folder:
# the command, corpus and tokenizer hashes, tokens seen, losses and the time it took here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="runs/ladder-build"
corpus="data/corpus/wordnet-glosses.jsonl"
tokenizer="models/remix-tiny"
jobs="${JOBS:-2}"
threads="${THREADS:-1}"

# name, hidden size, layers, heads, key/value heads (heads : kv heads = 2 : 1 like remix-tiny's 8 : 4).
# Widths 64 .. 384 at 4 layers span 35x in non-embedding parameters (0.18M .. 6.49M; remix-tiny,
# dim 256, is 2.90M); dim176-l8 and dim144-l12 are remix-tiny's size at 8 and 12 layers (2.74M, 2.75M).
rungs=(
  "dim384-l4 384 4 12 6"
  "dim144-l12 144 12 6 3"
  "dim176-l8 176 8 8 4"
  "dim192-l4 192 4 6 3"
  "dim128-l4 128 4 4 2"
  "dim96-l4 96 4 4 2"
  "dim64-l4 64 4 4 2"
)

build() {
  local name=$1 hidden=$2 layers=$3 heads=$4 kv=$5 run="$work/$1"
  local resume=()
  [ -d "$run" ] && resume=(--resume)
  mkdir -p "$work"
  ./remix pretrain --corpus "$corpus" --tokenizer "$tokenizer" --out "$run" \
    --hidden-size "$hidden" --layers "$layers" --heads "$heads" --kv-heads "$kv" --seq-len 256 \
    --epochs 2 --lr 1e-3 --batch-size 16 --warmup-ratio 0.02 --weight-decay 0.1 --seed 0 --save-every 200 \
    --threads "$threads" "${resume[@]}" >>"$work/$name.log" 2>&1
  local new="models/ladder/$name.new"
  rm -rf "$new"
  # Above 20 MB of float32 the weights are kept in bfloat16 (Remix loads them as float32 on CPU).
  if [ "$(stat -c %s "$run/final/model.safetensors")" -gt 20000000 ]; then
    ./remix model convert "$run/final" --dtype bfloat16 --out "$new"
  else
    mkdir -p "$new"
    cp "$run/final/"{config.json,model.safetensors,tokenizer.json,tokenizer_config.json} "$new/"
  fi
  rm -rf "models/ladder/$name"
  mv "$new" "models/ladder/$name"
  ./remix model card "$run" --model "models/ladder/$name" --force
  echo "$name: models/ladder/$name"
}

selected=("$@")
[ ${#selected[@]} -eq 0 ] && for r in "${rungs[@]}"; do selected+=("${r%% *}"); done
# Build once before the rungs start side by side.
./remix --version >/dev/null
failed=0
for name in "${selected[@]}"; do
  spec=""
  for r in "${rungs[@]}"; do [ "${r%% *}" = "$name" ] && spec="$r"; done
  [ -n "$spec" ] || { echo "build-ladder.sh: no rung named $name (rungs: ${rungs[*]%% *})" >&2; exit 2; }
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
  # shellcheck disable=SC2086
  (build $spec) &
done
while [ -n "$(jobs -rp)" ]; do wait -n || failed=1; done
[ "$failed" -eq 0 ] || { echo "build-ladder.sh: a rung failed; see its log, $work/NAME.log" >&2; exit 1; }
