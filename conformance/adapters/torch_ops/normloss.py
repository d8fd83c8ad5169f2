"""PyTorch mappings of the normloss family (see ../mapping.py). Inputs arrive channels last
(N, ..., C); batch_norm and group_norm take channels first and are permuted in and out."""

import torch  # noqa: F401 (the TABLE rows call torch.nn.functional.*)
import torch.nn.functional as F

from conformance.adapters.mapping import direct, impl

TABLE = {
    "softmax_cross_entropy": direct("torch.nn.functional.cross_entropy", const={"reduction": "mean"},
                                    note="label probabilities"),
    "sparse_softmax_cross_entropy": direct("torch.nn.functional.cross_entropy", const={"reduction": "mean"},
                                           note="class indices"),
    "sigmoid_binary_cross_entropy": direct("torch.nn.functional.binary_cross_entropy_with_logits",
                                           const={"reduction": "mean"}),
    "mse": direct("torch.nn.functional.mse_loss", const={"reduction": "mean"}),
    "huber": direct("torch.nn.functional.huber_loss", delta="delta", const={"reduction": "mean"}),
}


def channels_first(x):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def channels_last(x):
    return x.permute(0, *range(2, x.ndim), 1)


@impl("torch.nn.functional.layer_norm(x, x.shape[-k:], gamma, beta, eps)")
def layer_norm(x, gamma, beta, axis, eps):
    return F.layer_norm(x, tuple(x.shape[x.ndim - len(axis):]), gamma, beta, eps)


@impl("torch.nn.functional.batch_norm(training=True, no running stats; NCHW permutes)")
def batch_norm(x, gamma, beta, eps):
    y = F.batch_norm(channels_first(x), None, None, gamma, beta, training=True, eps=eps)
    return channels_last(y)


@impl("torch.nn.functional.rms_norm(x, (D,), gamma, eps)")
def rms_norm(x, gamma, eps):
    return F.rms_norm(x, (x.shape[-1],), gamma, eps)


@impl("torch.nn.functional.group_norm(x, groups, gamma, beta, eps) (NCHW permutes)")
def group_norm(x, gamma, beta, groups, eps):
    return channels_last(F.group_norm(channels_first(x), groups, gamma, beta, eps))
