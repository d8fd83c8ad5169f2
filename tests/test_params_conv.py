"""The conv family's parameters of issue 16 (item 4): pooling dilation, ceil_mode, explicit padding,
count_include_pad and divisor_override, and groups for conv1d, conv3d and conv2d_transpose.

As in tests/test_params.py: :data:`REACH` lists, per op and parameter, the values (or kinds of
value: ``"explicit"`` for explicit padding pairs) its structure must draw, the first being the op's
behaviour before the param (where shrinking ends); :data:`CASES` are fixed cases at each value,
small enough for the full Jacobian, where the oracle's gradient must agree with finite differences
of its own forward and with the inner-product identity. Beside them: the pools' forward against
torch's own (the oracle states torch's ceil_mode and divisor rules, so torch's float64 forward
pins them), and the grouped ops against their definitions (per-group concatenation, adjointness).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, settings

from conformance.registry import get_op
from conformance.strategies import cases
from reference import conv, pool
from reference.pool import pool_geometry
from tests.test_oracle_edges import Edge, check_finite_differences, check_inner_product, check_well_formed

PADDINGS = ("VALID", "SAME", "explicit")
DILATIONS = ((1, 1), (1, 2), (2, 1), (2, 2))

REACH: dict[tuple[str, str], tuple[Any, ...]] = {
    ("max_pool2d", "dilation"): DILATIONS,
    ("max_pool2d", "padding"): PADDINGS,
    ("max_pool2d", "ceil_mode"): (False, True),
    ("avg_pool2d", "dilation"): DILATIONS,
    ("avg_pool2d", "padding"): PADDINGS,
    ("avg_pool2d", "ceil_mode"): (False, True),
    ("avg_pool2d", "count_include_pad"): (False, True),
    ("avg_pool2d", "divisor_override"): (None, 1, 3),
    **{(op, "groups"): (1, 2, 3, 4) for op in ("conv1d", "conv1d_bias", "conv2d_transpose", "conv2d_transpose_bias")},
    **{(op, "groups"): (1, 2, 3) for op in ("conv3d", "conv3d_bias")},
}


def _kind(param: str, value: Any) -> Any:
    """The value, or ``"explicit"`` for explicit padding pairs."""
    return "explicit" if param == "padding" and not isinstance(value, str) else value


def _settings(n: int = 2000) -> settings:
    return settings(max_examples=n, database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize(("op", "param", "value"), [(op, p, v) for (op, p), vs in REACH.items() for v in vs],
                         ids=lambda v: repr(v))
def test_every_declared_value_is_drawn(op: str, param: str, value: Any) -> None:
    spec = get_op(op)
    assert param in spec.params, f"{op}: {param} is not a declared param"
    case = find(cases(spec, "float64"), lambda c: _kind(param, c.params[param]) == value, settings=_settings())
    assert _kind(param, case.params[param]) == value


def test_ceil_mode_is_drawn_where_it_changes_the_output() -> None:
    """A drawn ceil_mode=True case whose output is larger than the floor's (not only cases where
    the two agree)."""
    for op in ("max_pool2d", "avg_pool2d"):
        def grows(c: Any) -> bool:
            if not c.params["ceil_mode"]:
                return False
            _, extra = pool_geometry(c.inputs["x"].shape[1:3], c.params["window"], c.params["stride"],
                                     c.params["dilation"], c.params["padding"], True)
            return any(extra)
        find(cases(get_op(op), "float64"), grows, settings=_settings())


def test_the_first_value_is_where_shrinking_ends() -> None:
    """The minimal example of each op draws every parameter's first value (the behaviour before
    the param), in the small regime, where the suite's examples of a target shrink within."""
    for (op, param), values in REACH.items():
        case = find(cases(get_op(op), "float64", regime="small"), lambda c: True, settings=settings(database=None))
        assert _kind(param, case.params[param]) == values[0], (op, param, case.params)


def test_param_defaults_are_the_old_behaviour() -> None:
    """A fixed case (kink, special, witness) that leaves a new param out runs the op as before."""
    assert {k: get_op("max_pool2d").param_defaults[k] for k in ("dilation", "ceil_mode")} == {
        "dilation": (1, 1), "ceil_mode": False}
    assert {k: get_op("avg_pool2d").param_defaults[k] for k in ("count_include_pad", "divisor_override")} == {
        "count_include_pad": False, "divisor_override": None}
    for op in ("conv1d", "conv3d", "conv2d_transpose", "conv1d_bias", "conv3d_bias", "conv2d_transpose_bias"):
        assert get_op(op).param_defaults["groups"] == 1, op


# ---------------------------------------------------------------------------------------------
# fixed cases at each value


def _pool_cases() -> list[Edge]:
    out: list[Edge] = []
    geoms = [
        # (label, x shape, window, stride, padding, dilation)
        ("dil22", (1, 5, 5, 2), (2, 2), (1, 1), "VALID", (2, 2)),
        ("dil12,pad1", (1, 5, 4, 2), (3, 2), (2, 1), [[1, 1], [1, 1]], (1, 2)),
        ("dil21,SAME", (1, 5, 5, 2), (2, 3), (2, 2), "SAME", (2, 1)),
        ("pad10", (2, 4, 5, 1), (3, 3), (1, 2), [[1, 1], [0, 0]], (1, 1)),
        # ceil_mode: the last window runs past the end (5 = 2 * 2 + 1)
        ("ceil,past-end", (1, 5, 5, 2), (2, 2), (2, 2), "VALID", (1, 1)),
        # ceil_mode: a window that would start in the right padding is dropped (in 5, pad 1, k 2, s 2)
        ("ceil,dropped", (1, 5, 5, 2), (2, 2), (2, 2), [[1, 1], [1, 1]], (1, 1)),
        ("ceil,dil,stride3", (1, 6, 5, 2), (2, 2), (3, 3), [[1, 1], [0, 0]], (2, 1)),
    ]
    for label, xs, window, stride, padding, dilation in geoms:
        modes = (False, True) if label.startswith("ceil") else (False,)
        for ceil_mode in modes:
            base = {"window": window, "stride": stride, "padding": padding, "dilation": dilation,
                    "ceil_mode": ceil_mode}
            tag = f"{label},ceil={ceil_mode}"
            out.append(Edge("max_pool2d", tag, {"x": xs}, base))
            for cip, div in ((False, None), (True, None), (False, 1), (True, 3)):
                out.append(Edge("avg_pool2d", f"{tag},cip={cip},div={div}", {"x": xs},
                                {**base, "count_include_pad": cip, "divisor_override": div}))
    return out


def _group_cases() -> list[Edge]:
    out: list[Edge] = []
    one = {"stride": (1,), "dilation": (1,), "padding": "VALID"}
    for g, xs, ws, params in (
        (1, (1, 5, 4), (2, 4, 2), one),
        (2, (1, 5, 4), (2, 2, 4), one),
        (4, (2, 6, 4), (3, 1, 4), {"stride": (2,), "dilation": (2,), "padding": [[1, 2]]}),
        (3, (1, 5, 3), (2, 1, 3), {"stride": (1,), "dilation": (1,), "padding": "SAME"}),
    ):
        out.append(Edge("conv1d", f"groups={g},{params['padding']}", {"x": xs, "w": ws}, {**params, "groups": g}))
        out.append(Edge("conv1d_bias", f"groups={g}", {"x": xs, "w": ws, "bias": (ws[-1],)}, {**params, "groups": g}))
    three = {"stride": (1, 1, 1), "dilation": (1, 1, 1), "padding": "VALID"}
    for g, xs, ws, params in (
        (1, (1, 3, 2, 2, 2), (2, 1, 2, 2, 2), three),
        (2, (1, 3, 3, 2, 2), (2, 2, 1, 1, 2), three),
        (3, (1, 2, 3, 2, 3), (2, 2, 2, 1, 3), {"stride": (1, 2, 1), "dilation": (1, 1, 2), "padding": "SAME"}),
    ):
        out.append(Edge("conv3d", f"groups={g}", {"x": xs, "w": ws}, {**params, "groups": g}))
        out.append(Edge("conv3d_bias", f"groups={g}", {"x": xs, "w": ws, "bias": (ws[-1],)}, {**params, "groups": g}))
    for g, xs, ws, params in (
        (1, (1, 2, 2, 2), (2, 2, 3, 2), {"stride": (2, 1), "dilation": (1, 1), "padding": "VALID",
                                         "output_padding": (1, 0)}),
        (2, (1, 2, 3, 4), (2, 2, 1, 4), {"stride": (1, 1), "dilation": (1, 1), "padding": "VALID",
                                         "output_padding": (0, 0)}),
        (2, (1, 2, 2, 2), (2, 3, 2, 2), {"stride": (2, 2), "dilation": (1, 1), "padding": [[1, 0], [0, 1]],
                                         "output_padding": (1, 0)}),
        (4, (1, 2, 2, 4), (2, 2, 1, 4), {"stride": (2, 1), "dilation": (1, 2), "padding": "SAME",
                                         "output_padding": (1, 0)}),
        (3, (1, 1, 2, 3), (2, 2, 1, 3), {"stride": (2, 2), "dilation": (2, 1), "padding": "VALID",
                                         "output_padding": (0, 1)}),
    ):
        o = ws[2] * g
        out.append(Edge("conv2d_transpose", f"groups={g},{params['padding']}", {"x": xs, "w": ws},
                        {**params, "groups": g}))
        out.append(Edge("conv2d_transpose_bias", f"groups={g},{params['padding']}",
                        {"x": xs, "w": ws, "bias": (o,)}, {**params, "groups": g}))
    return out


CASES = _pool_cases() + _group_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_oracle_at_each_value_matches_finite_differences(case: Edge) -> None:
    spec = get_op(case.op)
    check_well_formed(spec, case)
    check_finite_differences(spec, case)
    check_inner_product(spec, case)


def test_cases_cover_every_declared_value() -> None:
    """The fixed cases hold each REACH value at least once."""
    for (op, param), values in REACH.items():
        held = {_kind(param, c.params[param]) for c in CASES if c.op == op}
        assert set(values) <= held, (op, param, set(values) - held)


# ---------------------------------------------------------------------------------------------
# the pools' conventions


def _torch_configs() -> list[tuple]:
    """A grid of geometries torch takes natively: symmetric pads of at most half the kernel."""
    out = []
    for k, s, d, p in itertools.product((1, 2, 3), (1, 2, 3), (1, 2), (0, 1)):
        if 2 * p > k:
            continue
        eff = (k - 1) * d + 1
        for n in range(max(1, eff - 2 * p), eff + 4):
            out.append((k, s, d, p, n))
    return out


def test_pools_forward_is_torchs() -> None:
    """On every geometry of the grid (one spatial dim varied, the other fixed), in float64, the
    oracle's max_pool2d (dilation, padding, ceil_mode) and avg_pool2d (padding, ceil_mode,
    count_include_pad, divisor_override; torch's has no dilation) are torch's: output sizes and
    values. This pins ceil_mode's rule (a window starting in the right padding is dropped, one
    running past the padded end reads nothing there) and each divisor."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    compared = 0
    for k, s, d, p, n in _torch_configs():
        x = rng.standard_normal((1, n, 3, 2))
        xt = torch.tensor(x).permute(0, 3, 1, 2)
        window, stride, dilation, pads = (k, 1), (s, 1), (d, 1), [[p, p], [0, 0]]
        for ceil_mode in (False, True):
            want = functional.max_pool2d(xt, window, stride, (p, 0), dilation, ceil_mode=ceil_mode)
            got = pool.max_pool2d(x, window=window, stride=stride, padding=pads, dilation=dilation, ceil_mode=ceil_mode)
            np.testing.assert_array_equal(got, want.permute(0, 2, 3, 1).numpy(),
                                          err_msg=f"max {k, s, d, p, n, ceil_mode}")
            compared += 1
            if d != 1:
                continue
            for cip, div in itertools.product((False, True), (None, 1, 3)):
                want = functional.avg_pool2d(xt, window, stride, (p, 0), ceil_mode=ceil_mode, count_include_pad=cip,
                                             divisor_override=div)
                got = pool.avg_pool2d(x, window=window, stride=stride, padding=pads, ceil_mode=ceil_mode,
                                      count_include_pad=cip, divisor_override=div)
                np.testing.assert_allclose(got, want.permute(0, 2, 3, 1).numpy(), rtol=1e-14, atol=0,
                                           err_msg=f"avg {k, s, p, n, ceil_mode, cip, div}")
                compared += 1
    assert compared > 300


def test_ceil_mode_changes_nothing_under_same() -> None:
    """SAME's windows already end at the padded end: ceil_mode adds no position."""
    for n, k, s, d in itertools.product(range(1, 9), (1, 2, 3), (1, 2, 3), (1, 2)):
        assert pool_geometry((n, 1), (k, 1), (s, 1), (d, 1), "SAME", True)[1] == [0, 0], (n, k, s, d)


def test_divisors_relate_as_they_say() -> None:
    """Without padding every divisor is the window size; with padding count_include_pad counts the
    pads (up to the window size) and never less than the real elements; divisor_override wins."""
    x = np.random.default_rng(0).standard_normal((1, 5, 5, 1))
    geom = {"window": (3, 2), "stride": (2, 1), "dilation": (1, 1)}
    a = pool.avg_pool2d(x, padding="VALID", **geom)
    assert np.array_equal(a, pool.avg_pool2d(x, padding="VALID", count_include_pad=True, **geom))
    assert np.allclose(a, pool.avg_pool2d(x, padding="VALID", divisor_override=6, **geom), rtol=1e-15, atol=0)
    pads = [[1, 1], [1, 1]]
    real = pool.pool_divisor((6, 5), (3, 2), (2, 1), (1, 1), pads, True)
    counted = pool.pool_divisor((6, 5), (3, 2), (2, 1), (1, 1), pads, True, count_include_pad=True)
    assert np.all(counted >= real) and np.all(counted <= 6) and np.any(counted > real)
    assert counted[0, -1, 0, 0] < 6  # ceil_mode's last window row runs past the padded end: not counted


def test_dilated_pool_reads_every_dilation_th_element() -> None:
    """A dilated window is the undilated one on the subsampled input (stride 1, VALID)."""
    x = np.random.default_rng(1).standard_normal((2, 7, 6, 3))
    for op in (pool.max_pool2d, pool.avg_pool2d):
        z = op(x, window=(2, 3), stride=(1, 1), padding="VALID", dilation=(2, 2))
        sub = op(x[:, ::2, ::2], window=(2, 3), stride=(1, 1), padding="VALID")
        assert np.array_equal(z[:, ::2, ::2], sub)


# ---------------------------------------------------------------------------------------------
# groups against their definitions


def test_grouped_conv_is_the_groups_concatenated() -> None:
    """conv1d / conv3d with groups: each group's channels convolved on their own, concatenated."""
    rng = np.random.default_rng(3)
    for fn, xs, kernel, g in ((conv.conv1d, (2, 6, 4), (2,), 2), (conv.conv1d, (1, 5, 4), (3,), 4),
                              (conv.conv3d, (1, 3, 4, 3, 3), (2, 2, 1), 3)):
        nd = len(kernel)
        cg, og = xs[-1] // g, 2
        x, w = rng.standard_normal(xs), rng.standard_normal((*kernel, cg, g * og))
        geom = {"stride": (1,) * nd, "dilation": (1,) * nd, "padding": "SAME"}
        z = fn(x, w, groups=g, **geom)
        parts = [fn(x[..., i * cg:(i + 1) * cg], w[..., i * og:(i + 1) * og], **geom) for i in range(g)]
        np.testing.assert_allclose(z, np.concatenate(parts, axis=-1), rtol=1e-13, atol=1e-13)


def test_grouped_transpose_is_the_adjoint_of_the_grouped_conv() -> None:
    """<conv2d_transpose(x, w; groups), y> = <x, grouped_conv2d(y, w; groups)>: the transposed
    convolution is the adjoint of the grouped convolution whose filter (kh, kw, Og, C) it takes."""
    rng = np.random.default_rng(4)
    for g, cg, stride, dilation, padding, q in ((2, 2, (2, 1), (1, 1), [[1, 0], [0, 1]], (1, 0)),
                                                (4, 1, (2, 2), (2, 1), "SAME", (1, 1)),
                                                (3, 1, (1, 1), (1, 2), "VALID", (0, 0))):
        x = rng.standard_normal((2, 3, 2, g * cg))
        w = rng.standard_normal((2, 2, 2, g * cg))  # (kh, kw, Og = 2, C)
        params = {"stride": stride, "dilation": dilation, "padding": padding}
        z = conv.conv2d_transpose(x, w, output_padding=q, groups=g, **params)
        assert z.shape[-1] == 2 * g
        _, pads = conv.transpose_geometry(x.shape[1:3], (2, 2), stride, dilation, padding, q)
        y = rng.standard_normal(z.shape)
        back = conv.grouped_conv2d(y, w, stride=stride, dilation=dilation, padding=pads, groups=g)
        assert back.shape == x.shape
        lhs, rhs = float(np.sum(z * y)), float(np.sum(x * back))
        assert abs(lhs - rhs) <= 1e-12 * (abs(lhs) + 1), (g, lhs, rhs)
