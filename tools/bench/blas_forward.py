#!/usr/bin/env python3
"""Times forwards of two perceptrons in PyTorch, to compare BLAS builds.

docs/performance.md, "OpenBLAS":
  /usr/bin/python3 tools/bench/blas_forward.py
  LD_PRELOAD=/usr/lib/x86_64-linux-gnu/blas/libblas.so.3 \
      /usr/bin/python3 tools/bench/blas_forward.py   # reference BLAS
"""
import time

import torch

torch.set_num_threads(1)
net = torch.nn.Sequential(torch.nn.Linear(196,256), torch.nn.ReLU(), torch.nn.Linear(256,256), torch.nn.ReLU(), torch.nn.Linear(256,24))
x = torch.randn(1,196)
with torch.inference_mode():
    for _ in range(200): net(x)
    t=time.perf_counter()
    for _ in range(3000): net(x)
    d=time.perf_counter()-t
print(f"{1e6*d/3000:.1f} us per forward (batch 1)")
x = torch.randn(64,436)
net2 = torch.nn.Sequential(torch.nn.Linear(436,256), torch.nn.ReLU(), torch.nn.Linear(256,256), torch.nn.ReLU(), torch.nn.Linear(256,96))
with torch.inference_mode():
    t=time.perf_counter()
    for _ in range(300): net2(x)
    d=time.perf_counter()-t
print(f"{1e6*d/300:.1f} us per forward (batch 64, 436 inputs)")
