"""PyTorch mappings of the elementwise family (see ../mapping.py)."""

import torch
import torch.nn.functional as F

from conformance.adapters.mapping import impl


@impl("torch.neg")
def neg(x):
    return torch.neg(x)


@impl("torch.abs")
def abs(x):
    return torch.abs(x)


@impl("torch.square")
def square(x):
    return torch.square(x)


@impl("torch.sqrt")
def sqrt(x):
    return torch.sqrt(x)


@impl("torch.rsqrt")
def rsqrt(x):
    return torch.rsqrt(x)


@impl("torch.reciprocal")
def reciprocal(x):
    return torch.reciprocal(x)


@impl("torch.exp")
def exp(x):
    return torch.exp(x)


@impl("torch.expm1")
def expm1(x):
    return torch.expm1(x)


@impl("torch.log")
def log(x):
    return torch.log(x)


@impl("torch.log1p")
def log1p(x):
    return torch.log1p(x)


@impl("torch.sin")
def sin(x):
    return torch.sin(x)


@impl("torch.cos")
def cos(x):
    return torch.cos(x)


@impl("torch.tan")
def tan(x):
    return torch.tan(x)


@impl("torch.tanh")
def tanh(x):
    return torch.tanh(x)


@impl("torch.erf")
def erf(x):
    return torch.erf(x)


@impl("torch.nn.functional.logsigmoid")
def log_sigmoid(x):
    return F.logsigmoid(x)


@impl("torch.relu")
def relu(x):
    return torch.relu(x)


@impl("torch.nn.functional.relu6")
def relu6(x):
    return F.relu6(x)


@impl("torch.nn.functional.leaky_relu(x, negative_slope=slope)")
def leaky_relu(x, slope):
    return F.leaky_relu(x, negative_slope=slope)


@impl("torch.nn.functional.elu(x, alpha=alpha)")
def elu(x, alpha):
    return F.elu(x, alpha=alpha)


@impl("torch.selu")
def selu(x):
    return torch.selu(x)


@impl('torch.nn.functional.gelu(x, approximate="none" | "tanh")')
def gelu(x, approximate):
    return F.gelu(x, approximate=approximate)


@impl("torch.nn.functional.silu")
def silu(x):
    return F.silu(x)


@impl("torch.nn.functional.softplus (defaults beta=1, threshold=20)")
def softplus(x):
    return F.softplus(x)


@impl("torch.nn.functional.softsign")
def softsign(x):
    return F.softsign(x)


@impl("torch.clamp(x, min=lo, max=hi)")
def clip(x, lo, hi):
    return torch.clamp(x, min=lo, max=hi)


@impl("torch.add")
def add(x, y):
    return torch.add(x, y)


@impl("torch.sub")
def subtract(x, y):
    return torch.sub(x, y)


@impl("torch.mul")
def multiply(x, y):
    return torch.mul(x, y)


@impl("torch.div")
def divide(x, y):
    return torch.div(x, y)


@impl("torch.pow")
def pow(x, y):
    return torch.pow(x, y)


@impl("torch.maximum")
def maximum(x, y):
    return torch.maximum(x, y)


@impl("torch.minimum")
def minimum(x, y):
    return torch.minimum(x, y)


@impl("torch.atan2(x, y)")
def atan2(x, y):
    return torch.atan2(x, y)


@impl("torch.square(x - y)", composite=True)
def squared_difference(x, y):
    return torch.square(x - y)
