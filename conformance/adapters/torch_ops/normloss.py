"""PyTorch mappings of the normloss family (see ../mapping.py). Inputs arrive channels last
(N, ..., C); batch_norm and group_norm take channels first and are permuted in and out."""

import torch
import torch.nn.functional as F

from conformance.adapters.mapping import direct, impl

TABLE = {
    "mse": direct("torch.nn.functional.mse_loss", reduction="reduction"),
    "huber": direct("torch.nn.functional.huber_loss", delta="delta", reduction="reduction"),
}


def _weights(values, like):
    """A tuple of per-class weights as a tensor of ``like``'s dtype and device (None stays None)."""
    return None if values is None else torch.tensor(values, dtype=like.dtype, device=like.device)


@impl("torch.nn.functional.cross_entropy(logits, labels, weight, reduction, label_smoothing) (label probabilities)")
def softmax_cross_entropy(logits, labels, reduction, weight, label_smoothing):
    return F.cross_entropy(logits, labels, weight=_weights(weight, logits), reduction=reduction,
                           label_smoothing=label_smoothing)


@impl("torch.nn.functional.cross_entropy(logits, labels, reduction, ignore_index) (class indices; "
      "ignore_index None: torch's default -100, which no drawn label is)")
def sparse_softmax_cross_entropy(logits, labels, reduction, ignore_index):
    ignore = -100 if ignore_index is None else ignore_index
    return F.cross_entropy(logits, labels, reduction=reduction, ignore_index=ignore)


@impl("torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction, pos_weight)")
def sigmoid_binary_cross_entropy(logits, labels, reduction, pos_weight):
    return F.binary_cross_entropy_with_logits(logits, labels, reduction=reduction,
                                              pos_weight=_weights(pos_weight, logits))


def channels_first(x):
    """(N, *spatial, C) -> (N, C, *spatial)."""
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def channels_last(x):
    return x.permute(0, *range(2, x.ndim), 1)


@impl("torch.nn.functional.layer_norm(x, x.shape[-k:], gamma, beta, eps)")
def layer_norm(x, gamma, beta, axis, eps):
    return F.layer_norm(x, tuple(x.shape[x.ndim - len(axis):]), gamma, beta, eps)


@impl("torch.nn.functional.batch_norm(training=True, no running stats; or training=False with running_mean, "
      "running_var; NCHW permutes)")
def batch_norm(x, gamma, beta, eps, training, running_mean, running_var):
    mean, var = _weights(running_mean, x), _weights(running_var, x)
    y = F.batch_norm(channels_first(x), mean, var, gamma, beta, training=training, eps=eps)
    return channels_last(y)


@impl("torch.nn.functional.rms_norm(x, x.shape[-k:], gamma, eps)")
def rms_norm(x, gamma, eps, axis):
    return F.rms_norm(x, tuple(x.shape[x.ndim - len(axis):]), gamma, eps)


@impl("torch.nn.functional.group_norm(x, groups, gamma, beta, eps) (NCHW permutes)")
def group_norm(x, gamma, beta, groups, eps):
    return channels_last(F.group_norm(channels_first(x), groups, gamma, beta, eps))
