"""PyTorch side of the QAT speed comparison (not a test): one FP32 epoch of
the Fashion-MNIST MLP 784-256-128-10, batch 128, Adam, on the CPU with 2
threads. Prints seconds per epoch and test accuracy per epoch. Default
learning rate: constant 1e-3; "cosine" anneals it to 0 per step as
examples/train-fashion.ts does.

    /usr/bin/python3 bench/qat_torch_mlp.py [epochs] [seed] [constant|cosine]

TORCH_THREADS=1 runs it on one thread (for accuracy runs on a busy machine).
"""
import os
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
schedule = sys.argv[3] if len(sys.argv) > 3 else "constant"
torch.manual_seed(seed)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures"))
from make_fashion_mini import SRC, read_idx  # noqa: E402


xtr = torch.tensor(read_idx(f"{SRC}/train-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
ytr = torch.tensor(read_idx(f"{SRC}/train-labels-idx1-ubyte.gz"), dtype=torch.long)
xte = torch.tensor(read_idx(f"{SRC}/t10k-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
yte = torch.tensor(read_idx(f"{SRC}/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)

model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
steps = epochs * ((len(xtr) + 127) // 128)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule == "cosine" else None
for epoch in range(epochs):
    perm = torch.randperm(len(xtr))
    t0 = time.perf_counter()
    for i in range(0, len(xtr), 128):
        idx = perm[i : i + 128]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    secs = time.perf_counter() - t0
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"pytorch {torch.__version__} mlp seed {seed} {schedule} epoch {epoch + 1}: {secs:.2f} s, test acc {100 * acc:.2f}%")
