"""PyTorch side of the QAT CNN comparison (not a test): the Fashion-MNIST CNN
conv16-pool-conv32-pool-fc128-fc10 (3×3 convolutions, padding 1), pixels /
255, batch 128, Adam lr 1e-3, on the CPU with 2 threads, PyTorch's default
initialisation. Prints seconds per epoch and test accuracy per epoch.

    /usr/bin/python3 bench/qat_torch_cnn.py [epochs] [--cosine] [--seed N]

--cosine anneals the learning rate from 1e-3 to 0 over all steps, as
examples/train-fashion.ts does.
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument("epochs", nargs="?", type=int, default=3)
ap.add_argument("--cosine", action="store_true")
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()

torch.set_num_threads(2)
torch.manual_seed(args.seed)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
from make_fashion_mini import SRC, read_idx  # noqa: E402

xtr = torch.tensor(read_idx(f"{SRC}/train-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
ytr = torch.tensor(read_idx(f"{SRC}/train-labels-idx1-ubyte.gz"), dtype=torch.long)
xte = torch.tensor(read_idx(f"{SRC}/t10k-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28), dtype=torch.float32) / 255
yte = torch.tensor(read_idx(f"{SRC}/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=args.lr)
loss_fn = nn.CrossEntropyLoss()
steps_per_epoch = math.ceil(len(xtr) / 128)
total = args.epochs * steps_per_epoch
step = 0
for epoch in range(args.epochs):
    model.train()
    perm = torch.randperm(len(xtr))
    t0 = time.perf_counter()
    loss_sum = 0.0
    for i in range(0, len(xtr), 128):
        if args.cosine:
            for g in opt.param_groups:
                g["lr"] = 0.5 * args.lr * (1 + math.cos(math.pi * step / total))
        step += 1
        idx = perm[i : i + 128]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        loss_sum += loss.item()
    secs = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    sched = "cosine" if args.cosine else "constant"
    print(f"pytorch {torch.__version__} cnn lr {args.lr} {sched} epoch {epoch + 1}: loss {loss_sum / steps_per_epoch:.4f}, {secs:.2f} s, test acc {100 * acc:.2f}%", flush=True)
