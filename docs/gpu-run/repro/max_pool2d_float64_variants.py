"""torch max_pool2d backward on CUDA: which layout / dtype faults (run once per variant, in its own process)."""
import sys
import torch
import torch.nn.functional as F

dtype = getattr(torch, sys.argv[1]); layout = sys.argv[2]
cases = [((1, 1, 4, 1), (1, 3), (2, 2)), ((1, 2, 2, 1), (2, 2), (2, 2)), ((2, 3, 5, 4), (2, 2), (2, 2))]
for nhwc, window, stride in cases:
    x = torch.randn(nhwc, dtype=torch.float64).to(dtype).cuda()
    xc = x.permute(0, 3, 1, 2)
    if layout == "contiguous":
        xc = xc.contiguous()
    xc.requires_grad_(True)
    cl = xc.is_contiguous(memory_format=torch.channels_last)
    try:
        out = F.max_pool2d(xc, window, stride)
        (g,) = torch.autograd.grad(out, xc, torch.ones_like(out))
        torch.cuda.synchronize()
        print(f"OK    {sys.argv[1]:8s} {layout:10s} x{list(xc.shape)} strides {xc.stride()} channels_last={cl} "
              f"window {window} stride {stride}", flush=True)
    except Exception as e:
        print(f"FAULT {sys.argv[1]:8s} {layout:10s} x{list(xc.shape)} strides {xc.stride()} channels_last={cl} "
              f"window {window} stride {stride}: {str(e).splitlines()[0]}", flush=True)
        break
