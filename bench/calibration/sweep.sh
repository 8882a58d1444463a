#!/usr/bin/env bash
# Calibration sweep for the demo (DESIGN.md section 6): one stage-2 setting, several conditions and seeds,
# through `remix run`. Stage 1 is the same for every condition that does not mix into it, so it is
# trained once per seed (--shared-stages). Usage:
#   [MIX_RATIO=1.0] bench/calibration/sweep.sh OUT LR1 LR2 STOP2 FACTS SEEDS CONDITIONS...
#   e.g. bench/calibration/sweep.sh runs/cal/lr5e-4 2e-3 5e-4 accuracy:1.0 100 "0,1,2" naive remix-both replay l2
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$1 lr1=$2 lr2=$3 stop2=$4 facts=$5 seeds=$6; shift 6
mkdir -p "$out"
for cond in "$@"; do
  mix1="" mix2="" extra2=""
  case $cond in
    naive) ;;
    replay) extra2="    replay: {stage: A, fraction: 0.1}" ;;
    remix-random) mix1="    mix: [{source: random, ratio: ${MIX_RATIO:-1.0}}]" ;;
    remix-generic) mix2="    mix: [{source: generic, ratio: ${MIX_RATIO:-1.0}}]" ;;
    remix-both) mix1="    mix: [{source: random, ratio: ${MIX_RATIO:-1.0}}]"; mix2="    mix: [{source: generic, ratio: ${MIX_RATIO:-1.0}}]" ;;
    l2) extra2="    regularizer: {type: l2, strength: 1.0}" ;;
    *) echo "unknown condition $cond" >&2; exit 2 ;;
  esac
  cat > "$out/$cond.yaml" <<YAML
name: $cond
base_model: $PWD/models/remix-tiny
seeds: [$seeds]
recipe: {lr: $lr1, batch_size: 16, epochs: 40, warmup_ratio: 0.05, max_length: 512, stop: "accuracy:1.0"}
stages:
  - name: A
    data: $PWD/data/facts/country-capital.jsonl
    limit: $facts
$mix1
  - name: B
    data: $PWD/data/facts/element-symbol.jsonl
    limit: $facts
    recipe: {lr: $lr2, stop: "$stop2", eval_every: 10}
$mix2
$extra2
YAML
  ./remix run --config "$out/$cond.yaml" --out "$out/runs/$cond" --shared-stages "$out/shared-stages" > "$out/$cond.log" 2>&1
done
./remix report "$out/runs" --out "$out/report" 2>&1 | tail -20
