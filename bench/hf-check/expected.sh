#!/usr/bin/env bash
# What Remix computes, for bench/hf-check/*.py to recompute with Hugging Face transformers on a machine
# that has it (torch + transformers; CPU or GPU). Needs a finished `./remix demo` (its naive stage-1 model).
#   bench/hf-check/expected.sh
#   python3 bench/hf-check/generate_compare.py
#   for m in naive remix-random-stage1; do python3 bench/hf-check/lens_compare.py runs/demo/full/$m/seed-0/stage-1-A/final \
#       bench/hf-check/out/lens/$m.csv data/facts/country-capital.jsonl; done
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/hf-check/out
mkdir -p "$out"
./remix generate --model models/remix-tiny --prompt "oak, oak tree:" --prompt "a chemical element" --prompt "the capital of France" \
    --max-new-tokens 24 --ids > "$out/tiny.ids"
d=runs/demo/full
./remix generate --model $d/naive/seed-0/stage-1-A/final --chat --prompt "What is the capital of France?" \
    --prompt "What is the capital of Peru?" --prompt "What is the capital of Mongolia?" --max-new-tokens 12 --ids > "$out/stage1.ids"
./remix analyze logit-lens --model $d/naive/seed-0/stage-1-A/final --model $d/remix-random-stage1/seed-0/stage-1-A/final \
    --data data/facts/country-capital.jsonl --limit 40 --out "$out/lens" --force > /dev/null
echo "written: $out"
