"""PyTorch mappings of the elementwise family (see ../mapping.py)."""

import torch

from conformance.adapters.mapping import direct, impl

TABLE = {
    "sigmoid": direct("torch.sigmoid"),
    "neg": direct("torch.neg"),
    "abs": direct("torch.abs"),
    "square": direct("torch.square"),
    "sqrt": direct("torch.sqrt"),
    "rsqrt": direct("torch.rsqrt"),
    "reciprocal": direct("torch.reciprocal"),
    "exp": direct("torch.exp"),
    "expm1": direct("torch.expm1"),
    "log": direct("torch.log"),
    "log1p": direct("torch.log1p"),
    "sin": direct("torch.sin"),
    "cos": direct("torch.cos"),
    "tan": direct("torch.tan"),
    "tanh": direct("torch.tanh"),
    "erf": direct("torch.erf"),
    "log_sigmoid": direct("torch.nn.functional.logsigmoid"),
    "relu": direct("torch.relu"),
    "relu6": direct("torch.nn.functional.relu6"),
    "hardswish": direct("torch.nn.functional.hardswish"),
    "leaky_relu": direct("torch.nn.functional.leaky_relu", negative_slope="slope"),
    "elu": direct("torch.nn.functional.elu", alpha="alpha"),
    "selu": direct("torch.selu"),
    "gelu": direct("torch.nn.functional.gelu", approximate="approximate"),  # "none" | "tanh", as the catalogue's
    "silu": direct("torch.nn.functional.silu"),
    "softsign": direct("torch.nn.functional.softsign"),
    "clip": direct("torch.clamp", min="lo", max="hi"),
    "add": direct("torch.add"),
    "subtract": direct("torch.sub"),
    "multiply": direct("torch.mul"),
    "divide": direct("torch.div"),
    "pow": direct("torch.pow"),
    "maximum": direct("torch.maximum"),
    "minimum": direct("torch.minimum"),
    "atan2": direct("torch.atan2"),
}


@impl("torch.square(x - y)", composite=True)
def squared_difference(x, y):
    return torch.square(x - y)


@impl("torch.nn.functional.softplus(x, beta, threshold) (threshold None: torch's default, 20)")
def softplus(x, beta, threshold):
    if threshold is None:
        return torch.nn.functional.softplus(x, beta=beta)
    return torch.nn.functional.softplus(x, beta=beta, threshold=threshold)
