"""PyTorch's eager post-training quantization of the Fashion-MNIST CNN, timed
round by round on request, so that bench/model.ts can alternate it with
lowbit's quantizeModel in one run (paired rounds on a shared machine).

Reads lines on stdin: "go" runs one PTQ (fuse, prepare with qnnpack's default
qconfig: HistogramObserver activations, per-tensor int8 weights; calibrate on
the 1,000 calibration images in batches of 100; convert) and prints its wall
seconds; "quit" ends. One thread. Prints "ready" once loaded.

Run by bench/model.ts: /usr/bin/python3 bench/ptq_torch_server.py CALIB.npy
"""
import sys
import time

import numpy as np
import torch

sys.path.insert(0, "test/fixtures/models/fashion")
from ptq import build, quantize  # noqa: E402

torch.set_num_threads(1)
calib = torch.from_numpy(np.load(sys.argv[1]))
model = build("cnn").eval()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "quit":
        break
    _, wall, _, _ = quantize("cnn", model, "qnnpack", calib, 100)
    print(f"{wall:.6f}", flush=True)
