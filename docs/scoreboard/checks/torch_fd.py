# torch: softplus at x = 21 (float64) and group_norm with one value per group, against central
# finite differences of NumPy float64 formulas (no torch in the truth)
import numpy as np
import torch
import torch.nn.functional as F

x = torch.tensor([21.0], dtype=torch.float64, requires_grad=True)
(g,) = torch.autograd.grad(F.softplus(x).sum(), x)
sp = lambda v: np.logaddexp(0.0, v)
h = 1e-5
print("torch", torch.__version__, "softplus'(21)", g.item(), "finite differences", (sp(21 + h) - sp(21 - h)) / (2 * h),
      "sigmoid(21)", 1 / (1 + np.exp(-21.0)))
xg = torch.tensor([[0.5, -1.25, 2.0, 0.75]], dtype=torch.float64, requires_grad=True)
try:
    torch.autograd.grad(F.group_norm(xg, 4).sum(), xg)
    print("group_norm ran")
except Exception as e:
    def gn(v):  # 4 groups of one value: (v - mean) / sqrt(var + eps) per group
        return ((v - v) / np.sqrt(0.0 + 1e-5))
    fd = [(gn(np.float64(v) + h) - gn(np.float64(v) - h)).sum() / (2 * h) for v in [0.5, -1.25, 2.0, 0.75]]
    print("group_norm raises", type(e).__name__, str(e)[:80], "| finite differences of the truth: dx =", fd)
