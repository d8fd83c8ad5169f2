"""torch max_pool2d on CUDA: which dtype and layout faults. Run once per variant, each in its own
process (a fault poisons the process's CUDA context), with CUDA_LAUNCH_BLOCKING=1:

    CUDA_LAUNCH_BLOCKING=1 python max_pool2d_float64_variants.py float64 permuted
"""

import sys

import torch
import torch.nn.functional as F

dtype = getattr(torch, sys.argv[1])
layout = sys.argv[2]  # permuted: an NHWC array viewed as NCHW (what the adapter does); contiguous: a copy
cases = [((1, 1, 4, 1), (1, 3), (2, 2)), ((1, 2, 2, 1), (2, 2), (2, 2)), ((2, 3, 5, 4), (2, 2), (2, 2))]
for nhwc, window, stride in cases:
    x = torch.randn(nhwc, dtype=torch.float64).to(dtype).cuda()
    xc = x.permute(0, 3, 1, 2)
    if layout == "contiguous":
        xc = xc.contiguous()
    xc.requires_grad_(True)
    cl = xc.is_contiguous(memory_format=torch.channels_last)
    where = f"{sys.argv[1]:8s} {layout:10s} x{list(xc.shape)} strides {xc.stride()} channels_last={cl} " \
            f"window {window} stride {stride}"
    try:
        out = F.max_pool2d(xc, window, stride)
        (g,) = torch.autograd.grad(out, xc, torch.ones_like(out))
        torch.cuda.synchronize()
        print(f"OK    {where}", flush=True)
    except Exception as e:
        print(f"FAULT {where}: {str(e).splitlines()[0]}", flush=True)
        break
