"""Normalisation layers and losses.

Normalisations (channels-last, like the rest of the catalogue):

    y = (x - mean) / sqrt(var + eps) * gamma + beta       (eps inside the square root)

with mean and the *population* variance taken over a set of axes A of n elements: the trailing
``axis`` dims for layer_norm, every axis but the last (channel) one for batch_norm in training
mode, spatial dims and the channels of one group for group_norm. rms_norm drops the centring
and beta: y = x / sqrt(mean(x^2) + eps) * gamma over its trailing ``axis`` dims. batch_norm in
inference mode takes the statistics as given constants (running mean and variance). Writing r = 1/sqrt(var + eps),
xhat = (x - mean) r and g = dz * gamma, every one of them has

    dx = r * (g - mean_A(g) - xhat * mean_A(g * xhat))     (rms_norm: without mean_A(g))
    dgamma = sum of dz * xhat over the axes gamma is broadcast along;  dbeta = sum of dz there.

Losses take a ``reduction``: ``mean`` (the default), ``sum`` or ``none`` (the per-row or
per-element values). softmax_cross_entropy and sparse_softmax_cross_entropy have one value per
batch row (logits are (B, K)); the mean divides by B (by the rows not ignored, with
``ignore_index``); the elementwise losses (sigmoid_binary_cross_entropy, mse, huber) have one per
element and the mean divides by their number.

Empty inputs: a mean over no rows or elements is nan (0 / 0, as torch, TensorFlow and JAX give
it) with an empty gradient; softmax_cross_entropy over K = 0 classes is the empty sum 0 (TensorFlow
and JAX; torch gives nan). A normalisation over an empty set of elements gives an empty output,
and dgamma, dbeta of channels that see no element are 0 (empty sums: torch and JAX for batch_norm
with an empty batch, JAX for group_norm with an empty spatial side; the others give nan there).
The elementwise losses take 0-d inputs (one element).
"""

from __future__ import annotations

import numpy as np

from reference._grad import Grad, f64, ieee
from reference.reduction import softmax
from reference.special_functions import log_sum_exp_parts

# ---------------------------------------------------------------- normalisation core


def _mean(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """np.mean over ``axes`` (keepdims), nan for an empty set of elements (without NumPy's
    empty-slice warning: the normalisation of nothing has no statistics)."""
    if all(a.shape[d] for d in axes):
        return np.mean(a, axis=axes, keepdims=True)
    return np.full([1 if d in axes else n for d, n in enumerate(a.shape)], np.nan)


def _standardize(x: np.ndarray, axes: tuple[int, ...], eps: float, centre: bool):
    """Statistics of the normalisation and the rounding scales a correct float computation has.

    ec:    absolute error scale (units of u) of the computed c = x - mean: the subtraction
           rounds |c| and the mean carries ~ u * mean|x| (the cancellation of the centring);
           0 for rms_norm, where c = x is exact.
    kappa: relative error (units of u) of the computed r = 1/sqrt(var + eps): var's error is
           ~ 2 mean(|c| ec) + 2 var (the centring's error squared in, the squares and the sum
           rounded), halved by the square root, plus the rsqrt's own rounding.
    """
    if centre:
        c = x - _mean(x, axes)
        ec = np.abs(c) + _mean(np.abs(x), axes)
    else:
        c = x
        ec = np.zeros(x.shape)
    var = _mean(c * c, axes)
    r = 1.0 / np.sqrt(var + eps)
    kappa = 1.5 + (_mean(np.abs(c) * ec, axes) + var) / (var + eps)
    return c * r, r, ec, kappa


def _normalize_vjp(x, g, dz, axes, eps, centre):
    """dx, its magnitude, and the per-element (value, magnitude) of dz * xhat for dgamma.

    Magnitude of dx: the expression on absolute values, r (|g| + mean|g| + |xhat| mean|g xhat|),
    plus the effect of r's relative error kappa (a common factor: kappa (|dx| + 2 r |xhat| |gx|),
    gx = mean(g xhat)) and of the centring's absolute error (r ec per xhat element). tiny: the
    sensitivity to an absolute error of one smallest normal in var + eps.
    """
    xhat, r, ec, kappa = _standardize(x, axes, eps, centre)
    ag = np.abs(g)
    gx = _mean(g * xhat, axes)
    inner = g - xhat * gx
    base = ag + np.abs(xhat) * _mean(ag * np.abs(xhat), axes)
    if centre:
        inner = inner - _mean(g, axes)
        base = base + _mean(ag, axes)
    dx = r * inner
    mag = (
        r * base
        + kappa * (np.abs(dx) + 2.0 * r * np.abs(xhat) * np.abs(gx))
        + r * (r * ec * np.abs(gx) + np.abs(xhat) * _mean(ag * r * ec, axes))
    )
    # tiny: an absolute error of one smallest normal in var + eps (subnormal squares or a
    # subnormal variance flushed) moves r by r^3 / 2 per unit, i.e. dx by (|dx| + 2 r |xhat| |gx|) r^2 / 2
    tiny = 1.0 + r * r * (np.abs(dx) + 2.0 * r * np.abs(xhat) * np.abs(gx))
    dz_xhat = dz * xhat
    dz_xhat_mag = np.abs(dz) * (np.abs(xhat) * (1.0 + kappa) + r * ec)
    dz_xhat_tiny = np.abs(dz * xhat) * r * r
    return dx, mag, tiny, dz_xhat, dz_xhat_mag, dz_xhat_tiny


def _normalize(x, gamma, beta, axes, eps, centre):
    xhat, _, _, _ = _standardize(x, axes, eps, centre)
    y = xhat * gamma
    return y if beta is None else y + beta


def _count(shape, axes) -> int:
    """The number of elements over ``axes``, at least 1: a Grad's terms (an empty set of
    elements sums nothing, and every gradient built from it is empty or zero)."""
    return max(1, int(np.prod([shape[a] for a in axes], dtype=np.int64)))


# ---------------------------------------------------------------- layer_norm


def _trailing(axis, ndim: int) -> tuple[int, ...]:
    axes = sorted({int(a) % ndim for a in np.atleast_1d(axis)})
    if axes != list(range(ndim - len(axes), ndim)):
        raise ValueError(f"layer_norm normalises trailing dims; axis {axis!r} is not trailing for rank {ndim}")
    return tuple(axes)


def layer_norm(x, gamma, beta, axis=(-1,), eps: float = 1e-5):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta, statistics over the trailing ``axis``
    dims (a tuple of negative axes, e.g. (-2, -1)); gamma and beta have those dims' shape."""
    x, gamma, beta = f64(x, gamma, beta)
    return _normalize(x, gamma, beta, _trailing(axis, x.ndim), eps, True)


def layer_norm_vjp(x, gamma, beta, dz, axis=(-1,), eps: float = 1e-5) -> dict[str, Grad]:
    """dx = r (g - mean(g) - xhat mean(g xhat)) over the normalised dims, g = dz gamma;
    dgamma = sum over the leading dims of dz xhat; dbeta = sum over the leading dims of dz.
    (Magnitudes: see the module docstring and _normalize_vjp.)"""
    x, gamma, beta, dz = f64(x, gamma, beta, dz)
    axes = _trailing(axis, x.ndim)
    lead = tuple(range(x.ndim - len(axes)))
    n, b = _count(x.shape, axes), _count(x.shape, lead)
    dx, mag, tiny, gv, gm, gt = _normalize_vjp(x, dz * gamma, dz, axes, eps, True)
    return {
        "x": Grad(dx, mag, terms=n, tiny=tiny),
        "gamma": Grad(gv.sum(axis=lead), gm.sum(axis=lead), terms=max(b, n), tiny=1.0 + gt.sum(axis=lead)),
        "beta": Grad(dz.sum(axis=lead), np.abs(dz).sum(axis=lead), terms=b),
    }


# ---------------------------------------------------------------- batch_norm


def _channels(values, c: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (c,))


def batch_norm(x, gamma, beta, eps: float = 1e-5, training: bool = True, running_mean=None, running_var=None):
    """Batch normalisation, channels last; gamma and beta have shape (C,). Training mode: the
    statistics (population variance) per channel over every axis but the last. Inference mode
    (``training`` False): the given per-channel ``running_mean`` and ``running_var`` ((C,) each),
    y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta."""
    x, gamma, beta = f64(x, gamma, beta)
    if training:
        return _normalize(x, gamma, beta, tuple(range(x.ndim - 1)), eps, True)
    c = x.shape[-1]
    r = 1.0 / np.sqrt(_channels(running_var, c) + eps)
    return (x - _channels(running_mean, c)) * r * gamma + beta


def batch_norm_vjp(x, gamma, beta, dz, eps: float = 1e-5, training: bool = True, running_mean=None,
                   running_var=None) -> dict[str, Grad]:
    """Training mode: dx = r (g - mean(g) - xhat mean(g xhat)), means per channel over every
    other axis, g = dz gamma; dgamma = sum of dz xhat and dbeta = sum of dz over every axis but
    the last. Inference mode: the statistics are constants, so dx = dz gamma r with
    r = 1/sqrt(running_var + eps), dgamma = sum of dz (x - running_mean) r, dbeta = sum of dz.

    Inference magnitudes: dx is a product (|dx|, r's own rounding is a few u); dgamma sums
    |dz| (|x| + |running_mean|) r (the subtraction rounds at that scale)."""
    x, gamma, beta, dz = f64(x, gamma, beta, dz)
    axes = tuple(range(x.ndim - 1))
    n = _count(x.shape, axes)
    beta_grad = Grad(dz.sum(axis=axes), np.abs(dz).sum(axis=axes), terms=n)
    if not training:
        c = x.shape[-1]
        mean = _channels(running_mean, c)
        r = 1.0 / np.sqrt(_channels(running_var, c) + eps)
        dx = dz * gamma * r
        return {
            "x": Grad(dx, np.abs(dx)),
            "gamma": Grad((dz * (x - mean) * r).sum(axis=axes), (np.abs(dz) * (np.abs(x) + np.abs(mean)) * r).sum(
                axis=axes), terms=n),
            "beta": beta_grad,
        }
    dx, mag, tiny, gv, gm, gt = _normalize_vjp(x, dz * gamma, dz, axes, eps, True)
    return {
        "x": Grad(dx, mag, terms=n, tiny=tiny),
        "gamma": Grad(gv.sum(axis=axes), gm.sum(axis=axes), terms=n, tiny=1.0 + gt.sum(axis=axes)),
        "beta": beta_grad,
    }


# ---------------------------------------------------------------- group_norm


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, *spatial, C) -> (N, *spatial, G, C // G)."""
    c = a.shape[-1]
    if groups < 1 or c % groups:
        raise ValueError(f"group_norm: {c} channels do not split into {groups} groups")
    return a.reshape(*a.shape[:-1], groups, c // groups)


def group_norm(x, gamma, beta, groups: int = 1, eps: float = 1e-5):
    """Group normalisation, channels last: x is (N, *spatial, C), the C channels split into
    ``groups`` consecutive groups; statistics per (sample, group) over the spatial dims and the
    group's channels; gamma and beta have shape (C,)."""
    x, gamma, beta = f64(x, gamma, beta)
    xg = _grouped(x, groups)
    axes = (*range(1, xg.ndim - 2), xg.ndim - 1)
    y = _normalize(xg, _grouped(gamma, groups), _grouped(beta, groups), axes, eps, True)
    return y.reshape(x.shape)


def group_norm_vjp(x, gamma, beta, dz, groups: int = 1, eps: float = 1e-5) -> dict[str, Grad]:
    """dx = r (g - mean(g) - xhat mean(g xhat)), means per (sample, group), g = dz gamma;
    dgamma = sum of dz xhat and dbeta = sum of dz over the sample and spatial dims."""
    x, gamma, beta, dz = f64(x, gamma, beta, dz)
    xg, dzg = _grouped(x, groups), _grouped(dz, groups)
    axes = (*range(1, xg.ndim - 2), xg.ndim - 1)
    sums = tuple(range(x.ndim - 1))
    n, b = _count(xg.shape, axes), _count(x.shape, sums)
    dx, mag, tiny, gv, gm, gt = _normalize_vjp(xg, dzg * _grouped(gamma, groups), dzg, axes, eps, True)
    return {
        "x": Grad(dx.reshape(x.shape), mag.reshape(x.shape), terms=n, tiny=tiny.reshape(x.shape)),
        "gamma": Grad(gv.reshape(x.shape).sum(axis=sums), gm.reshape(x.shape).sum(axis=sums), terms=max(b, n),
                      tiny=1.0 + gt.reshape(x.shape).sum(axis=sums)),
        "beta": Grad(dz.sum(axis=sums), np.abs(dz).sum(axis=sums), terms=b),
    }


# ---------------------------------------------------------------- rms_norm


def rms_norm(x, gamma, eps: float = 1e-5, axis=(-1,)):
    """y = x / sqrt(mean(x^2) + eps) * gamma, the mean over the trailing ``axis`` dims (a tuple
    of negative axes, e.g. (-2, -1)); gamma has those dims' shape."""
    x, gamma = f64(x, gamma)
    return _normalize(x, gamma, None, _trailing(axis, x.ndim), eps, False)


def rms_norm_vjp(x, gamma, dz, eps: float = 1e-5, axis=(-1,)) -> dict[str, Grad]:
    """dx = r (g - xhat mean(g xhat)) with r = 1/sqrt(mean(x^2) + eps), xhat = x r, g = dz gamma,
    means over the normalised trailing dims; dgamma = sum of dz xhat over the leading axes."""
    x, gamma, dz = f64(x, gamma, dz)
    axes = _trailing(axis, x.ndim)
    lead = tuple(range(x.ndim - len(axes)))
    n, b = _count(x.shape, axes), _count(x.shape, lead)
    dx, mag, tiny, gv, gm, gt = _normalize_vjp(x, dz * gamma, dz, axes, eps, False)
    return {
        "x": Grad(dx, mag, terms=n, tiny=tiny),
        "gamma": Grad(gv.sum(axis=lead), gm.sum(axis=lead), terms=max(b, n), tiny=1.0 + gt.sum(axis=lead)),
    }


# ---------------------------------------------------------------- loss reductions

REDUCTIONS = ("mean", "sum", "none")


def _reduce(losses: np.ndarray, reduction: str, count: float | None = None):
    """A loss's per-element values reduced: ``mean`` (over ``count`` elements, default all of them;
    nan over none, as the frameworks), ``sum``, or ``none`` (the values themselves)."""
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.sum(losses)
    if reduction != "mean":
        raise ValueError(f"unknown reduction {reduction!r}; valid: {REDUCTIONS}")
    n = losses.size if count is None else count
    return np.sum(losses) / n if n else np.float64(np.nan)


def _per_element(dz: np.ndarray, shape: tuple[int, ...], reduction: str, count: float | None = None) -> np.ndarray:
    """The cotangent of each per-element loss value: dz / count (mean), dz (sum) broadcast to
    ``shape``, or dz itself (none)."""
    dz = np.asarray(dz, dtype=np.float64)
    if reduction == "none":
        return dz
    n = int(np.prod(shape, dtype=np.int64)) if count is None else count
    k = dz / n if reduction == "mean" else dz
    return np.broadcast_to(k, shape)


# ---------------------------------------------------------------- softmax cross-entropy


def _log_softmax_rows(logits: np.ndarray):
    """log_softmax along the last axis, softmax, and cond = 1 + |x - max| + log S: the absolute
    rounding (units of u) of the exponent each softmax value is formed from. log S is accurate
    where S is close to 1 (a confident row; see log_sum_exp_parts)."""
    m, _, _, log_s = log_sum_exp_parts(logits, -1)
    logp = (logits - m) - log_s
    return logp, softmax(logits, -1), 1.0 + np.abs(logits - m) + log_s


def _target(labels: np.ndarray, weight, label_smoothing: float) -> np.ndarray:
    """The weighted, smoothed target w_k (labels (1 - eps) + eps / K) of softmax_cross_entropy."""
    k = labels.shape[-1]
    smoothed = labels * (1.0 - label_smoothing) + label_smoothing / k if label_smoothing else labels
    return smoothed if weight is None else smoothed * np.asarray(weight, dtype=np.float64)


@ieee
def softmax_cross_entropy(logits, labels, reduction: str = "mean", weight=None, label_smoothing: float = 0.0):
    """Per row b: loss_b = -sum_k t[b, k] log_softmax(logits)[b, k] with the target
    t = w_k (labels (1 - eps) + eps / K) (``weight`` w, (K,) or None for ones; ``label_smoothing``
    eps); logits and labels (B, K), label rows probability distributions. Reduced over the B
    rows by ``reduction``: mean (divided by B, whatever the weights, as torch does for
    probability targets), sum, or none (the (B,) row losses)."""
    logits, labels = f64(logits, labels)
    logp, _, _ = _log_softmax_rows(logits)
    return _reduce(-np.sum(_target(labels, weight, label_smoothing) * logp, axis=-1), reduction)


@ieee
def softmax_cross_entropy_vjp(logits, labels, dz, reduction: str = "mean", weight=None,
                              label_smoothing: float = 0.0) -> dict[str, Grad]:
    """dlogits = k_b (softmax(logits) * T_b - t), t the target (see softmax_cross_entropy),
    T_b = sum_k t[b, k] and k_b the row's cotangent (dz / B, dz or dz[b] by the reduction).
    Labels are not differentiated.

    Magnitude: |k| (s * cond * T + t), cond the exponent's rounding (see _log_softmax_rows).
    terms = K. tiny: a flushed subnormal s moves the result by |k| T.
    """
    logits, labels, dz = f64(logits, labels, dz)
    _, s, cond = _log_softmax_rows(logits)
    t = _target(labels, weight, label_smoothing)
    rows = t.sum(axis=-1, keepdims=True)
    k = _per_element(dz, logits.shape[:1], reduction)[:, None]
    return {"logits": Grad(k * (s * rows - t), np.abs(k) * (s * cond * rows + t),
                           terms=max(1, logits.shape[-1]), tiny=1.0 + np.abs(k) * rows)}


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    """One-hot rows; a label outside [0, k) (an ignored row) is a row of zeros."""
    return (np.asarray(labels)[:, None] == np.arange(k)[None, :]).astype(np.float64)


def _kept(labels: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """1.0 for the rows that count, 0.0 for those whose label is ``ignore_index``."""
    labels = np.asarray(labels)
    return np.ones(labels.shape) if ignore_index is None else (labels != ignore_index).astype(np.float64)


@ieee
def sparse_softmax_cross_entropy(logits, labels, reduction: str = "mean", ignore_index: int | None = None):
    """Per row b: loss_b = -log_softmax(logits)[b, labels[b]], 0 where labels[b] == ignore_index;
    logits (B, K), labels (B,) integer class indices in [0, K) (or ignore_index). Reduced by
    ``reduction``: mean over the rows that are not ignored (torch's rule; nan when every row is),
    sum, or none (the (B,) row losses)."""
    (logits,) = f64(logits)
    logp, _, _ = _log_softmax_rows(logits)
    kept = _kept(labels, ignore_index)
    losses = -np.sum(logp * _onehot(labels, logits.shape[-1]), axis=-1) * kept
    return _reduce(losses, reduction, kept.sum())


@ieee
def sparse_softmax_cross_entropy_vjp(logits, labels, dz, reduction: str = "mean",
                                     ignore_index: int | None = None) -> dict[str, Grad]:
    """dlogits = k_b kept_b (softmax(logits) - onehot(labels)), k_b the row's cotangent (dz / the
    number of kept rows, dz or dz[b] by the reduction), kept_b 0 for an ignored row.

    Magnitude: |k| kept (s * cond + onehot). terms = K. tiny: |k| per flushed s.
    """
    logits, dz = f64(logits, dz)
    kk = logits.shape[-1]
    _, s, cond = _log_softmax_rows(logits)
    oh = _onehot(labels, kk)
    kept = _kept(labels, ignore_index)
    k = (_per_element(dz, kept.shape, reduction, kept.sum()) * kept)[:, None]
    return {"logits": Grad(k * (s - oh), np.abs(k) * (s * cond + oh), terms=max(1, kk), tiny=1.0 + np.abs(k))}


# ---------------------------------------------------------------- elementwise losses


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _pos_weight(pos_weight, shape: tuple[int, ...]) -> np.ndarray:
    """pos_weight ((C,) over the last axis, or None for ones) broadcast to ``shape``."""
    return np.ones(shape) if pos_weight is None else np.broadcast_to(np.asarray(pos_weight, dtype=np.float64), shape)


@ieee
def sigmoid_binary_cross_entropy(logits, labels, reduction: str = "mean", pos_weight=None):
    """Per element: -(p l log sigmoid(x) + (1 - l) log(1 - sigmoid(x)))
    = (1 - l) x + (1 + (p - 1) l) softplus(-x); labels l in [0, 1], same shape as logits;
    ``pos_weight`` p, one per class of the last axis (or None: 1). Reduced by ``reduction``
    (mean over every element, sum, or none)."""
    logits, labels = f64(logits, labels)
    p = _pos_weight(pos_weight, logits.shape)
    return _reduce((1.0 - labels) * logits + (1.0 + (p - 1.0) * labels) * np.logaddexp(0.0, -logits), reduction)


@ieee
def sigmoid_binary_cross_entropy_vjp(logits, labels, dz, reduction: str = "mean", pos_weight=None) -> dict[str, Grad]:
    """dlogits = k ((1 + (p - 1) l) sigmoid(x) - p l), k the element's cotangent (dz / M, dz or
    dz itself by the reduction). Labels not differentiated (p = 1: k (sigmoid(x) - l)).

    Magnitude: |k| ((1 + |p - 1| l) sigmoid(x) + p l) * cond (the subtraction on absolute values;
    forms via 1 - sigmoid(-x) are within a factor 2 of it). cond = 1 + softplus(x) +
    softplus(-x): an implementation differentiating log_sigmoid forms sigmoid(x) =
    exp(x - softplus(x)) from its rounded output softplus(x), an absolute error of
    u (softplus(x) + |x - softplus(x)|) in the exponent (as logsumexp's does). tiny: |k| p per
    flushed subnormal sigmoid.
    """
    logits, labels, dz = f64(logits, labels, dz)
    k = _per_element(dz, logits.shape, reduction)
    p = _pos_weight(pos_weight, logits.shape)
    s = _sigmoid(logits)
    cond = 1.0 + np.logaddexp(0.0, logits) + np.logaddexp(0.0, -logits)
    value = k * ((1.0 + (p - 1.0) * labels) * s - p * labels)
    mag = np.abs(k) * ((1.0 + np.abs(p - 1.0) * labels) * s + p * labels) * cond
    return {"logits": Grad(value, mag, tiny=1.0 + np.abs(k) * p)}


@ieee
def mse(pred, target, reduction: str = "mean"):
    """Per element (pred - target)^2, reduced by ``reduction`` (mean over every element, sum, or none)."""
    pred, target = f64(pred, target)
    return _reduce((pred - target) ** 2, reduction)


@ieee
def mse_vjp(pred, target, dz, reduction: str = "mean") -> dict[str, Grad]:
    """dpred = 2 k (pred - target), dtarget = -dpred, k the element's cotangent (dz / M, dz, or
    dz itself by the reduction).

    Magnitude: |dpred| itself: pred and target are exact inputs, so pred - target is computed
    with one rounding (relative error u), with no cancellation error to amplify.
    """
    pred, target, dz = f64(pred, target, dz)
    d = 2.0 * _per_element(dz, pred.shape, reduction) * (pred - target)
    return {"pred": Grad(d, np.abs(d)), "target": Grad(-d, np.abs(d))}


@ieee
def huber(pred, target, delta: float = 1.0, reduction: str = "mean"):
    """Per element h(d), d = pred - target, h(d) = d^2 / 2 where |d| <= delta,
    delta (|d| - delta / 2) elsewhere; reduced by ``reduction`` (mean, sum or none)."""
    pred, target = f64(pred, target)
    d = pred - target
    a = np.abs(d)
    return _reduce(np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


@ieee
def huber_vjp(pred, target, dz, delta: float = 1.0, reduction: str = "mean") -> dict[str, Grad]:
    """dpred = k clip(pred - target, -delta, delta), dtarget = -dpred, k the element's cotangent
    (dz / M, dz, or dz itself by the reduction).

    Huber is continuously differentiable: at |d| = delta both pieces give ±delta (only the second
    derivative jumps; the catalogue still probes it as a kink). Magnitude: |dpred| (d has relative
    error u; near the switch both pieces agree to that accuracy).
    """
    pred, target, dz = f64(pred, target, dz)
    d = _per_element(dz, pred.shape, reduction) * np.clip(pred - target, -delta, delta)
    return {"pred": Grad(d, np.abs(d)), "target": Grad(-d, np.abs(d))}
