"""OpSpecs of the normloss family: layer_norm, batch_norm (training mode), rms_norm, group_norm
(channels last, eps inside the square root, population variance), and the losses
softmax_cross_entropy (class weights, label smoothing), sparse_softmax_cross_entropy
(ignore_index), sigmoid_binary_cross_entropy (pos_weight), mse and huber, each with a reduction
(mean, sum or none)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.opspec import InputSpec, Kink, spec_factory
from conformance.strategies import Structure, away_from, batch_size, choice, keep_large, kink_margin, shape, side
from reference import normloss as N

X, GAMMA, BETA = InputSpec("x"), InputSpec("gamma"), InputSpec("beta")
LOGITS = InputSpec("logits")
# eps values normal (and exact) in every dtype: float16's smallest normal 2^-14 ~ 6.1e-5, 2^-10, 2^-4.
# 1e-5 is subnormal in float16, where flush-to-zero (XLA, TensorFlow's CPU threads) turns it into 0.
EPS = (2.0**-14, 2.0**-10, 2.0**-4)
DELTAS = (0.5, 1.0, 2.0)  # exact in every dtype

NORM_NOTES = ("eps inside the square root: (x - mean) / sqrt(var + eps), population variance (ddof 0); eps drawn "
              "from 2^-14, 2^-10, 2^-4 (exact, and normal in float16).")


def _eps(draw) -> float:
    return choice(draw, EPS)


def _layer_norm(draw, rng) -> Structure:
    s = shape(draw)
    k = draw(st.integers(1, len(s)))
    trailing = s[len(s) - k:]
    return Structure({"x": s, "gamma": trailing, "beta": trailing},
                     {"axis": tuple(range(-k, 0)), "eps": _eps(draw)})


def _channels_last(draw, *, min_dims: int = 2, max_channels: int = 5) -> list[int]:
    s = list(shape(draw, min_dims=min_dims, max_dims=4))
    s[-1] = min(s[-1], max_channels) if s[-1] else 1
    keep_large(s)  # (a large shape's channels capped: its batch grows instead)
    return s


# inference-mode running statistics per channel: exact in every dtype
RUNNING_MEANS = (0.0, 0.5, -1.0, 2.0)
RUNNING_VARS = (1.0, 0.25, 4.0, 2.0)


def _batch_norm(draw, rng) -> Structure:
    s = _channels_last(draw)
    c = s[-1]
    training = choice(draw, (True, False))
    if training and int(np.prod(s[:-1])) < 2:  # training mode needs at least two values per channel
        s[0] = 2
    params = {"eps": _eps(draw), "training": training, "running_mean": None, "running_var": None}
    if not training:
        params["running_mean"] = tuple(choice(draw, RUNNING_MEANS) for _ in range(c))
        params["running_var"] = tuple(choice(draw, RUNNING_VARS) for _ in range(c))
    return Structure({"x": tuple(s), "gamma": (c,), "beta": (c,)}, params)


def _group_norm(draw, rng) -> Structure:
    s = _channels_last(draw, max_channels=6)
    c = s[-1]
    groups = choice(draw, [g for g in range(1, c + 1) if c % g == 0])
    return Structure({"x": tuple(s), "gamma": (c,), "beta": (c,)}, {"groups": groups, "eps": _eps(draw)})


def _rms_norm(draw, rng) -> Structure:
    s = shape(draw)
    k = choice(draw, range(1, len(s) + 1))  # the last axis first
    trailing = s[len(s) - k:]
    return Structure({"x": s, "gamma": trailing}, {"eps": _eps(draw), "axis": tuple(range(-k, 0))})


def _rows(draw) -> tuple[int, int]:
    return batch_size(draw, 1, 5), side(draw, 1, 6)


# Loss reductions: the mean first (where shrinking ends), then the sum and the per-element values.
REDUCTIONS = N.REDUCTIONS
# Class weights and pos_weight values: exact in every dtype.
WEIGHTS = (1.0, 0.5, 2.0, 0.25, 3.0)
LABEL_SMOOTHING = (0.0, 0.1, 0.25)
IGNORED = -100  # torch's default ignore_index, a label outside [0, K)


def _reduction(draw) -> str:
    return choice(draw, REDUCTIONS)


def _class_weights(draw, k: int) -> tuple[float, ...] | None:
    """None (no weights) first, else one weight per class."""
    if not draw(st.booleans()):
        return None
    return tuple(choice(draw, WEIGHTS) for _ in range(k))


def _softmax_ce(draw, rng) -> Structure:
    b, k = _rows(draw)
    params = {"reduction": _reduction(draw), "weight": _class_weights(draw, k),
              "label_smoothing": choice(draw, LABEL_SMOOTHING)}
    return Structure({"logits": (b, k), "labels": (b, k)}, params)


def _sparse_ce(draw, rng) -> Structure:
    b, k = _rows(draw)
    # ignore_index: none first; -100 (labels outside the classes, as torch's default marks them);
    # class 0, where there is another class to keep
    ignore = choice(draw, (None, IGNORED, 0) if k > 1 else (None, IGNORED))
    labels = rng.integers(0, k, size=b)
    if ignore == IGNORED:
        labels = np.where(rng.random(b) < 0.3, IGNORED, labels)
    if ignore is not None and b:  # row 0 always counts, so a mean over the kept rows is defined
        labels[0] = rng.integers(1, k) if ignore == 0 else labels[0] % k
    params = {"reduction": _reduction(draw), "ignore_index": ignore}
    return Structure({"logits": (b, k), "labels": (b,)}, params, values={"labels": labels})


def _sigmoid_bce(draw, rng) -> Structure:
    s = shape(draw, max_dims=3)
    soft = rng.random(s)
    hard = rng.random(s) < 0.3  # some hard 0/1 labels among the soft ones
    params = {"reduction": _reduction(draw), "pos_weight": _class_weights(draw, s[-1])}
    return Structure({"logits": s, "labels": s}, params, values={"labels": np.where(hard, np.round(soft), soft)})


def _pair(draw, rng) -> Structure:
    s = shape(draw)
    return Structure({"pred": s, "target": s}, {"reduction": _reduction(draw)})


def _huber(draw, rng) -> Structure:
    st_ = _pair(draw, rng)
    st_.params["delta"] = choice(draw, DELTAS)
    return st_


def _huber_avoid(values, params, dtype):
    """pred - target kept off ±delta by a margin that covers the inputs' own rounding."""
    pred = np.asarray(values["pred"], dtype=np.float64)
    target = np.asarray(values["target"], dtype=np.float64)
    delta = float(params["delta"])
    scale = float(np.abs(pred).max(initial=0.0) + np.abs(target).max(initial=0.0))
    d = away_from(pred - target, [-delta, delta], kink_margin(dtype, scale))
    return {**values, "pred": target + d}


REGIMES = ("small", "tails", "long", "large", "batch", "empty")  # the family's size regimes (conformance.regimes)
_spec = spec_factory("normloss", N, REGIMES)


NORM = ("r = 1/sqrt(var + eps), xhat = (x - mean) r, g = dz gamma")

OPS = [
    _spec(
        "layer_norm", (X, GAMMA, BETA), _layer_norm,
        f"dx = r (g - mean(g) - xhat mean(g xhat)) over the normalised trailing dims,  {NORM};  "
        "dgamma = sum_batch dz xhat;  dbeta = sum_batch dz",
        params=("axis", "eps"),
        notes="axis: the normalised trailing dims as negative axes, e.g. (-2, -1); gamma and beta have their "
              "shape. " + NORM_NOTES,
    ),
    _spec(
        "batch_norm", (X, GAMMA, BETA), _batch_norm,
        f"dx = r (g - mean(g) - xhat mean(g xhat)), means per channel over all other axes,  {NORM};  "
        "dgamma = sum dz xhat;  dbeta = sum dz (over all but the channel axis);  inference mode: dx = dz gamma r, "
        "r = 1/sqrt(running_var + eps), dgamma = sum dz (x - running_mean) r",
        params=("eps", "training", "running_mean", "running_var"),
        regimes=REGIMES[:-1],  # no empty: training mode needs at least two values per channel
        notes="Channels last (N, ..., C); gamma, beta (C,). training True: batch statistics; False: inference "
              "mode with running_mean, running_var (C,) drawn per channel (means 0, 0.5, -1, 2; variances 1, "
              "0.25, 4, 2), None in training mode. " + NORM_NOTES,
    ),
    _spec(
        "rms_norm", (X, GAMMA), _rms_norm,
        "dx = r (g - xhat mean(g xhat)) over the normalised trailing dims,  r = 1/sqrt(mean(x^2) + eps), "
        "xhat = x r, g = dz gamma;  dgamma = sum_batch dz xhat",
        params=("eps", "axis"),
        notes="axis: the normalised trailing dims as negative axes, (-1,) first, e.g. (-2, -1); gamma has their "
              "shape; eps inside the square root, drawn as for the other normalisations.",
    ),
    _spec(
        "group_norm", (X, GAMMA, BETA), _group_norm,
        f"dx = r (g - mean(g) - xhat mean(g xhat)), means per (sample, group) over spatial dims and the "
        f"group's channels,  {NORM};  dgamma = sum dz xhat;  dbeta = sum dz (over sample and spatial dims)",
        params=("groups", "eps"),
        notes="Channels last (N, ..., C), C split into `groups` consecutive groups; gamma, beta (C,). "
              + NORM_NOTES,
    ),
    _spec(
        "softmax_cross_entropy", (LOGITS, InputSpec("labels", "probability", differentiable=False)), _softmax_ce,
        "dlogits = k (softmax(logits) * sum_k t - t),  t = w (labels (1 - eps) + eps / K),  k = dz / B (mean), "
        "dz (sum) or dz_b (none)",
        params=("reduction", "weight", "label_smoothing"),
        notes="logits, labels (B, K); label rows are probability distributions; row loss -sum_k t log_softmax("
              "logits) with t = w (labels (1 - eps) + eps / K); reduction mean (over the B rows, whatever the "
              "weights), sum or none; weight: None or one class weight per class; label_smoothing eps in 0, 0.1, "
              "0.25. Labels are not differentiated.",
    ),
    _spec(
        "sparse_softmax_cross_entropy", (LOGITS, InputSpec("labels", "index", differentiable=False)), _sparse_ce,
        "dlogits = k kept (softmax(logits) - onehot(labels)),  k = dz / #kept (mean), dz (sum) or dz_b (none)",
        params=("reduction", "ignore_index"),
        notes="logits (B, K), labels (B,) int64 class indices; row loss -log_softmax(logits)[label], 0 for a row "
              "whose label is ignore_index (None, -100 or class 0; row 0 is never ignored); reduction mean (over "
              "the rows kept), sum or none.",
    ),
    _spec(
        "sigmoid_binary_cross_entropy", (LOGITS, InputSpec("labels", "probability", differentiable=False)),
        _sigmoid_bce,
        "dlogits = k ((1 + (p - 1) labels) sigmoid(logits) - p labels),  k = dz / M (mean), dz (sum) or dz (none)",
        params=("reduction", "pos_weight"),
        notes="labels in [0, 1] elementwise (soft, some hard 0/1), same shape as logits; element loss "
              "(1 - l) x + (1 + (p - 1) l) softplus(-x); pos_weight p: None or one per class of the last axis; "
              "reduction mean (over all M elements), sum or none. Labels are not differentiated.",
    ),
    _spec(
        "mse", (InputSpec("pred"), InputSpec("target")), _pair,
        "dpred = 2 k (pred - target),  dtarget = -dpred,  k = dz / M (mean), dz (sum) or dz (none)",
        params=("reduction",),
        notes="element loss (pred - target)^2; reduction mean (over all M elements), sum or none.",
    ),
    _spec(
        "huber", (InputSpec("pred"), InputSpec("target")), _huber,
        "dpred = k clip(pred - target, -delta, delta),  dtarget = -dpred,  k = dz / M (mean), dz (sum) or dz (none)",
        params=("delta", "reduction"),
        kinks=(
            Kink(
                "|d|=delta",
                "Huber is C1: at |pred - target| = delta the gradient is exactly ±delta dz / M from both sides "
                "(only the second derivative jumps)",
                inputs={"pred": np.array([1.5, -0.5, 3.0]), "target": np.array([0.5, 0.5, 1.0])},
                params={"delta": 1.0, "reduction": "mean"},
                at={"pred": [[0], [1]], "target": [[0], [1]]},
            ),
        ),
        avoid=_huber_avoid,
        notes="element loss d^2/2 (|d| <= delta) or delta (|d| - delta/2), d = pred - target; reduction mean "
              "(over all M elements), sum or none.",
    ),
]
