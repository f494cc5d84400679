#!/bin/sh
# Runs the accuracy table of BENCHMARKS.md for one model (mlp or cnn):
# FP32, then QAT at W8A8, W4A4 and W2A2, each with and without distillation.
#   sh examples/run-table.sh mlp 4 2     # model, FP32 epochs, QAT epochs
set -e
MODEL=${1:-mlp}
FP_EPOCHS=${2:-4}
QAT_EPOCHS=${3:-2}
shift 3 2>/dev/null || true
run() { nice npx tsx examples/train-fashion.ts --model "$MODEL" "$@"; }
run --mode fp32 --epochs "$FP_EPOCHS"
for mode in w8a8 w4a4 w2a2; do
  run --mode $mode --epochs "$QAT_EPOCHS"
  run --mode $mode --epochs "$QAT_EPOCHS" --distill
done
