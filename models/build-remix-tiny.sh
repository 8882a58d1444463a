#!/usr/bin/env bash
# Rebuilds models/remix-tiny from the bundled generic corpus with the project's own commands:
# a 4,096-entry byte-level BPE tokenizer, then a Llama pretrained from scratch on packed blocks.
# Interrupted? Run it again: pretraining resumes from its last checkpoint.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="runs/remix-tiny-build"
corpus="data/corpus/wordnet-glosses.jsonl"
resume=()
[ -d "$work/pretrain/checkpoints" ] && resume=(--resume)

[ -f "$work/tokenizer/tokenizer.json" ] || ./remix tokenizer train --corpus "$corpus" --vocab-size 4096 --out "$work/tokenizer"
./remix pretrain --corpus "$corpus" --tokenizer "$work/tokenizer" --out "$work/pretrain" \
  --hidden-size 256 --layers 4 --heads 8 --kv-heads 4 --seq-len 256 \
  --epochs 2 --lr 1e-3 --batch-size 16 --warmup-ratio 0.02 --weight-decay 0.1 --seed 0 --save-every 200 "${resume[@]}"

rm -rf models/remix-tiny.new
mkdir -p models/remix-tiny.new
cp "$work/pretrain/final/"{config.json,model.safetensors,tokenizer.json,tokenizer_config.json} models/remix-tiny.new/
[ -f models/remix-tiny/MODEL_CARD.md ] && cp models/remix-tiny/MODEL_CARD.md models/remix-tiny.new/
rm -rf models/remix-tiny
mv models/remix-tiny.new models/remix-tiny
sha256sum "$corpus" models/remix-tiny/model.safetensors models/remix-tiny/tokenizer.json
