#!/bin/sh
# Runs the accuracy table of BENCHMARKS.md for one model (mlp or cnn):
# FP32, then QAT at W8A8, W4A4 and W2A2, each with and without distillation.
#   sh examples/run-table.sh mlp 4 2          # model, FP32 epochs, QAT epochs
#   sh examples/run-table.sh cnn 1 1 8000     # ... and QAT on the first 8000 training images only
#   TRAIN_ARGS=--standardize FP32_LR=2e-3 sh examples/run-table.sh cnn 3 1   # the CNN rows of BENCHMARKS.md
# SKIP_FP32=1 reuses the FP32 model already in $OUT; PARALLEL=1 runs the six QAT runs side by side;
# TRAIN_ARGS is added to every run (e.g. --standardize --seed 2).
set -e
MODEL=${1:-mlp}
FP_EPOCHS=${2:-4}
QAT_EPOCHS=${3:-2}
QAT_LIMIT=${4:-60000}
run() { nice npx tsx examples/train-fashion.ts --model "$MODEL" $TRAIN_ARGS "$@"; }
[ -n "$SKIP_FP32" ] || run --mode fp32 --epochs "$FP_EPOCHS" ${FP32_LR:+--lr "$FP32_LR"}
for mode in w8a8 w4a4 w2a2; do
  for kd in "" --distill; do
    if [ -n "$PARALLEL" ]; then run --mode $mode --epochs "$QAT_EPOCHS" --train-limit "$QAT_LIMIT" $kd > "${OUT:-/tmp/lowbit-qat}/$MODEL-$mode${kd:+-kd}.log" 2>&1 &
    else run --mode $mode --epochs "$QAT_EPOCHS" --train-limit "$QAT_LIMIT" $kd; fi
  done
done
wait
