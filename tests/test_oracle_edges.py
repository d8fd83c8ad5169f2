"""The oracle on empty (size-0) and 0-d inputs, and on 1-D matmul operands.

A catalogue of edge cases (:data:`EDGES`) covers every op of the registry: size-0 sides in each
input position where the op's forward is defined (an empty batch, an empty reduced axis, zero
channels, zero output channels, an empty index list...), and 0-d inputs where an op takes them.
Each case says what the frameworks do with it (probed through the catalogue's mappings with
torch 2.13, TensorFlow 2.21 and JAX 0.10.2; the oracle modules' docstrings say which takes what):

- ``ok``: at least one framework computes it (prod of a 0-d input over a 1-tuple axis: torch
  would, as it does for sum, but the torch mapping's composite fails there); the oracle must
  too, with gradients of the inputs' shapes, float64, finite magnitudes at least |gradient| and
  ``terms >= 1``, and ``dz^T J`` checked element by element against central finite differences
  of the oracle's own forward (an empty input's gradient is empty; an input that feeds an empty
  output gets zeros).
- ``refused``: no framework computes it, or torch and JAX refuse it (max and min of an empty
  group, which TensorFlow alone answers with -inf / +inf); the oracle raises a ValueError that
  says so.

The cases sit outside the drawn catalogue (conformance.ops draws no size-0 side yet); each is
fixed, with values from a seeded generator in the op's input domains.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from conformance.dtypes import get_dtype
from conformance.opspec import OpSpec
from conformance.registry import all_ops, get_op
from conformance.strategies import draw_values
from tests.oracle_fd import element_scale, fd_dot, jacobian_dz_columns, sensitivity

FD_INFORMATIVE = 1e-3


@dataclass(frozen=True)
class Edge:
    """One fixed edge case: an op, its input shapes and params, optional explicit values."""

    op: str
    label: str
    shapes: dict[str, tuple[int, ...]]
    params: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    expect: str = "ok"  # "ok" or "refused"
    kind: str = ""  # the regime where the shapes do not tell it (an empty output of non-empty inputs)

    @property
    def regime(self) -> str:
        """"empty" when an input (or, as ``kind`` says, the output) has a size-0 side, else
        "0-d" when an input (or the output) is 0-d, else "1-d" (matmul's 1-D operands) or
        "N<=ddof" (var and std of one element with ddof 1)."""
        if self.kind:
            return self.kind
        if any(0 in s for s in self.shapes.values()):
            return "empty"
        return "0-d" if any(len(s) == 0 for s in self.shapes.values()) else "1-d"

    @property
    def id(self) -> str:
        return f"{self.op}[{self.label}]"


def edge_inputs(edge: Edge, seed: int = 0) -> dict[str, np.ndarray]:
    """The case's inputs: explicit values, or float64 values drawn in each input's domain (moved
    off the op's kinks by its avoid() with float16's margin, as the oracle's other tests do)."""
    spec = get_op(edge.op)
    rng = np.random.default_rng(seed)
    raw: dict[str, np.ndarray] = {}
    for inp in spec.inputs:
        if inp.name in edge.values:
            raw[inp.name] = np.asarray(edge.values[inp.name])
        else:
            raw[inp.name] = np.asarray(draw_values(rng, edge.shapes[inp.name], inp.domain, 1.0, "normal"))
    if spec.avoid is not None and all(v.size for v in raw.values()):
        try:
            raw = {k: np.asarray(v) for k, v in spec.avoid(raw, edge.params, get_dtype("float16")).items()}
        except (ValueError, IndexError):  # some avoid()s cannot take 0-d inputs (one element has no ties)
            pass
    for name, shape in edge.shapes.items():
        assert raw[name].shape == tuple(shape), f"{edge.id}: {name} has shape {raw[name].shape}, not {shape}"
    return raw


# ---------------------------------------------------------------------------------------------
# the catalogue

EDGES: list[Edge] = []


def _add(op: str, label: str, shapes: dict, params: dict | None = None, values: dict | None = None,
         expect: str = "ok", kind: str = "") -> None:
    EDGES.append(Edge(op, label, {k: tuple(v) for k, v in shapes.items()}, dict(params or {}),
                      dict(values or {}), expect, kind))


UNARY_PARAMS: dict[str, list[dict]] = {
    "clip": [{"lo": -1.0, "hi": 1.0}],
    "elu": [{"alpha": 1.5}],
    "leaky_relu": [{"slope": 0.2}],
    "gelu": [{"approximate": "none"}, {"approximate": "tanh"}],
}
BINARY = ("add", "subtract", "multiply", "divide", "pow", "maximum", "minimum", "atan2", "squared_difference")


def _elementwise() -> None:
    ops = all_ops()
    for name in sorted(ops):
        spec = ops[name]
        if spec.family != "elementwise":
            continue
        if name in BINARY:
            for xs, ys in (((0,), (0,)), ((2, 0), (1,)), ((0, 3), (3,)), ((), (0,)), ((2, 0, 1), (3,)),
                           ((), ()), ((), (3,)), ((2, 1), ())):
                _add(name, f"{xs}x{ys}", {"x": xs, "y": ys})
            continue
        for params in UNARY_PARAMS.get(name, [{}]):
            tag = ",".join(f"{k}={v}" for k, v in params.items())
            for s in ((0,), (3, 0, 2), ()):
                _add(name, f"{s}{tag}", {"x": s}, params)


REDUCTIONS = ("sum", "mean", "prod", "max", "min", "logsumexp", "var", "std", "l2_norm")
# frameworks refuse to reduce an empty group where the reduction has no identity (max, min)
NO_IDENTITY = ("max", "min")


def _reductions() -> None:
    for name in REDUCTIONS:
        ddofs = (0, 1) if name in ("var", "std") else (None,)
        for ddof in ddofs:
            extra = {} if ddof is None else {"ddof": ddof}
            tag = "" if ddof is None else f",ddof={ddof}"
            for s, ax, keep, empty_group in (
                ((2, 0), 1, False, True), ((2, 0), -1, True, True), ((2, 0), 0, False, False),
                ((0,), None, False, True), ((0, 3), (0, -1), False, True), ((3, 0, 2), (0, 2), True, False),
                ((0, 3), 1, True, False),
            ):
                expect = "refused" if empty_group and name in NO_IDENTITY else "ok"
                _add(name, f"{s},axis={ax},keep={keep}{tag}", {"x": s},
                     {"axis": ax, "keepdims": keep, **extra}, expect=expect)
            for ax in (None, 0, -1, (0,), (-1,)):
                for keep in (False, True):
                    _add(name, f"(),axis={ax},keep={keep}{tag}", {"x": ()}, {"axis": ax, "keepdims": keep, **extra})
            # no framework names a 0-d input's element with another axis, or twice
            for ax in (1, (0, -1)):
                _add(name, f"(),axis={ax}{tag}", {"x": ()}, {"axis": ax, "keepdims": False, **extra}, expect="refused")
        if name in ("var", "std"):  # N == ddof with a non-empty group
            _add(name, "(2,1),axis=1,ddof=1", {"x": (2, 1)}, {"axis": 1, "keepdims": False, "ddof": 1}, kind="N<=ddof")
    # vector_norm: an empty group is 0 for a finite order; the infinite orders refuse it (torch
    # refuses both, JAX -inf), as max and min do; a 0-d input is its own |x|
    for order in (1, 3, 0.5, "inf", "-inf"):
        for s, ax, empty_group in (((2, 0), 1, True), ((0, 3), 0, True), ((0, 3), 1, False), ((0,), None, True)):
            expect = "refused" if empty_group and order in ("inf", "-inf") else "ok"
            _add("vector_norm", f"ord={order},{s},axis={ax}", {"x": s},
                 {"ord": order, "axis": ax, "keepdims": False}, expect=expect)
        for ax in (None, 0):
            _add("vector_norm", f"ord={order},(),axis={ax}", {"x": ()}, {"ord": order, "axis": ax, "keepdims": False})
    for name in ("softmax", "log_softmax"):
        for s, ax in (((2, 0), -1), ((2, 0), 0), ((0,), 0), ((0, 3), -1), ((), 0), ((), -1)):
            _add(name, f"{s},axis={ax}", {"x": s}, {"axis": ax})


def _normloss() -> None:
    eps = {"eps": 1e-3}
    for xs, ax in (((0, 3), (-1,)), ((2, 0), (-1,)), ((0,), (-1,)), ((2, 0, 3), (-2, -1)), ((0, 2, 3), (-2, -1))):
        gs = xs[len(xs) - len(ax):]
        _add("layer_norm", f"{xs},axis={ax}", {"x": xs, "gamma": gs, "beta": gs}, {"axis": ax, **eps})
    for xs in ((0, 3), (2, 0), (0, 2, 2, 3), (2, 0, 3)):
        c = xs[-1]
        _add("batch_norm", f"{xs}", {"x": xs, "gamma": (c,), "beta": (c,)}, eps)
    for xs, g in (((0, 4, 2), 1), ((0, 3, 4), 2), ((2, 0, 2), 1), ((2, 3, 0), 1)):
        c = xs[-1]
        _add("group_norm", f"{xs},groups={g}", {"x": xs, "gamma": (c,), "beta": (c,)}, {"groups": g, **eps})
    for xs in ((0, 4), (3, 0), (0,)):
        _add("rms_norm", f"{xs}", {"x": xs, "gamma": (xs[-1],)}, eps)
    _add("softmax_cross_entropy", "(0,3)", {"logits": (0, 3), "labels": (0, 3)})
    _add("softmax_cross_entropy", "(2,0)", {"logits": (2, 0), "labels": (2, 0)})
    _add("sparse_softmax_cross_entropy", "(0,3)", {"logits": (0, 3), "labels": (0,)},
         values={"labels": np.zeros((0,), dtype=np.int64)})
    for s in ((0,), (2, 0), ()):
        _add("sigmoid_binary_cross_entropy", f"{s}", {"logits": s, "labels": s},
             values={"labels": np.full(s, 0.25)})
        _add("mse", f"{s}", {"pred": s, "target": s})
        _add("huber", f"{s}", {"pred": s, "target": s}, {"delta": 1.0},
             values={"pred": np.full(s, 0.3), "target": np.full(s, -0.1)} if s == () else None)


def _spd(n: int, batch: tuple[int, ...] = ()) -> np.ndarray:
    return np.broadcast_to(np.eye(n) * 2.0 + 0.1, (*batch, n, n)).copy()


def _linalg() -> None:
    for xs, ys in (((0, 3), (3, 2)), ((2, 0), (0, 3)), ((2, 3), (3, 0)), ((0, 2, 3), (3, 4)),
                   ((2, 3), (0, 3, 4)),
                   # 1-D operands (NumPy / torch matmul: a 1-D x is a row, a 1-D y a column)
                   ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),
                   ((0,), (0,)), ((0,), (0, 2)), ((2, 0), (0,)), ((3,), (3, 0)), ((0, 3), (3,))):
        _add("matmul", f"{xs}@{ys}", {"x": xs, "y": ys})
    for eq, xs, ys in (("ij,jk->ik", (2, 0), (0, 3)), ("ij,jk->ik", (0, 3), (3, 2)), ("ij,jk->ik", (2, 3), (3, 0)),
                       ("bij,bjk->bik", (0, 2, 3), (0, 3, 2)), ("i,j->ij", (0,), (3,)), ("ij,ij->", (0, 3), (0, 3)),
                       ("ij,j->i", (2, 0), (0,)), ("bij,bkj->bik", (2, 0, 3), (2, 2, 3)),
                       ("bnqd,bnkd->bnqk", (1, 2, 3, 0), (1, 2, 2, 0))):
        _add("einsum", f"{eq},{xs},{ys}", {"x": xs, "y": ys}, {"equation": eq})
    for eq, xs in (("ii->", (0, 0)), ("ii->i", (0, 0)), ("bii->b", (0, 2, 2)), ("bii->b", (2, 0, 0)),
                   ("ij->ji", (0, 3)), ("ij->", (0, 3)), ("ij->j", (0, 3)), ("ij->j", (3, 0)),
                   ("bij->bji", (0, 2, 3))):
        _add("einsum_unary", f"{eq},{xs}", {"x": xs}, {"equation": eq})
    for name in ("inv", "det", "slogdet", "cholesky", "eigvalsh"):
        for xs in ((0, 0), (2, 0, 0), (0, 3, 3)):
            _add(name, f"{xs}", {"x": xs})
    for xs in ((0, 0), (0, 3), (3, 0), (2, 0, 3), (0, 2, 3), (2, 3, 0)):
        _add("svdvals", f"{xs}", {"x": xs})
    # an empty batch, an empty matrix side, an offset whose diagonal leaves the matrix (torch and JAX
    # give an empty diagonal and a zero trace; TensorFlow's diag_part refuses it: not drawn)
    for name in ("diagonal", "trace"):
        for xs, offset in (((0, 2, 3), 1), ((2, 0, 3), 0), ((3, 0), -1), ((2, 3), 3), ((2, 3), -2), ((2, 3), 5)):
            _add(name, f"{xs},offset={offset}", {"x": xs}, {"offset": offset},
                 kind="empty" if 0 not in xs else "")
    for name, variants in (("solve", [{}]),
                           ("triangular_solve", [{"lower": lo, "transpose": tr} for lo in (True, False)
                                                 for tr in (False, True)])):
        for params in variants:
            tag = ",".join(f"{k}={v}" for k, v in params.items())
            for a, b in (((0, 0), (0, 2)), ((0, 0), (0, 0)), ((2, 0, 0), (2, 0, 1)), ((0, 3, 3), (0, 3, 2))):
                _add(name, f"{a},{b}{tag}", {"a": a, "b": b}, params)
            _add(name, f"(3,3),(3,0){tag}", {"a": (3, 3), "b": (3, 0)}, params, values={"a": _spd(3)})


def _conv() -> None:
    valid = {"padding": "VALID"}
    same = {"padding": "SAME"}
    geom2 = {"stride": (1, 1), "dilation": (1, 1)}
    for nd, name in ((1, "conv1d"), (2, "conv2d"), (3, "conv3d")):
        geom = {"stride": (1,) * nd, "dilation": (1,) * nd}
        sp, k = (4,) * nd, (2,) * nd
        for bias in (False, True):
            op = name + ("_bias" if bias else "")
            for xs, ws, pad in (((0, *sp, 2), (*k, 2, 3), valid), ((0, *sp, 2), (*k, 2, 3), same),
                                ((2, *sp, 0), (*k, 0, 3), valid), ((2, *sp, 2), (*k, 2, 0), valid)):
                shapes = {"x": xs, "w": ws, **({"bias": (ws[-1],)} if bias else {})}
                _add(op, f"{xs},{ws},{pad['padding']}", shapes, {**geom, **pad})
    for bias in (False, True):
        for op, cases in (  # (x, w): a batch of 0, zero channels, zero output channels
            ("grouped_conv2d", [((0, 4, 4, 4), (2, 2, 2, 4)), ((2, 4, 4, 0), (2, 2, 0, 2)),
                                ((2, 4, 4, 4), (2, 2, 2, 0))]),
            ("depthwise_conv2d", [((0, 4, 4, 2), (2, 2, 2, 1)), ((2, 4, 4, 0), (2, 2, 0, 2)),
                                  ((2, 4, 4, 2), (2, 2, 2, 0))]),
            ("conv2d_transpose", [((0, 3, 3, 2), (2, 2, 4, 2)), ((2, 3, 3, 0), (2, 2, 4, 0)),
                                  ((2, 3, 3, 2), (2, 2, 0, 2))]),
        ):
            name = op + ("_bias" if bias else "")
            for xs, ws in cases:
                params = dict(geom2, padding="VALID")
                if op == "grouped_conv2d":
                    params["groups"] = 2
                if op == "conv2d_transpose":
                    params["output_padding"] = (0, 0)
                o = ws[2] if op == "conv2d_transpose" else (ws[2] * ws[3] if op == "depthwise_conv2d" else ws[3])
                shapes = {"x": xs, "w": ws, **({"bias": (o,)} if bias else {})}
                _add(name, f"{xs},{ws}", shapes, params)
    # a spatial side of 0 under SAME padding: no output position (TensorFlow and JAX; torch refuses)
    for op, more in (("conv2d", {}), ("conv2d_bias", {"bias": (3,)})):
        _add(op, "(2,0,4,2),(2,2,2,3),SAME", {"x": (2, 0, 4, 2), "w": (2, 2, 2, 3), **more}, {**geom2, **same})
        _add(op, "(2,0,4,2),(2,2,2,3),pad1", {"x": (2, 0, 4, 2), "w": (2, 2, 2, 3), **more},
             {**geom2, "padding": [[1, 1], [0, 0]]})
    _add("conv1d", "(2,0,2),(3,2,3),SAME", {"x": (2, 0, 2), "w": (3, 2, 3)}, {"stride": (2,), "dilation": (1,), **same})
    for op in ("max_pool2d", "avg_pool2d"):
        for xs, pad, win in (((0, 4, 4, 2), "VALID", (2, 2)), ((0, 5, 5, 2), "SAME", (2, 2)),
                             ((2, 4, 4, 0), "VALID", (2, 2)), ((2, 0, 4, 2), "SAME", (2, 2)),
                             ((2, 0, 4, 2), "SAME", (3, 3))):
            _add(op, f"{xs},{pad},{win}", {"x": xs}, {"window": win, "stride": (2, 2), "padding": pad})


def _shape_ops() -> None:
    for xs, target in (((0, 3), [3, 0]), ((2, 0, 3), [0, 6]), ((0,), [0, 2, 0]), ((), [1]), ((), []),
                       ((1, 1), [])):
        _add("reshape", f"{xs}->{target}", {"x": xs}, {"shape": target}, kind="" if xs != (1, 1) else "0-d")
    for xs, perm in (((0, 3), [1, 0]), ((2, 0, 3), [2, 0, 1]), ((), [])):
        _add("transpose", f"{xs},{perm}", {"x": xs}, {"perm": perm})
    for xs, ys, ax in (((2, 0), (2, 3), 1), ((0, 3), (2, 3), 0), ((0, 3), (0, 3), 0), ((0, 3), (0, 2), -1),
                       ((2, 0), (2, 0), 1)):
        _add("concat", f"{xs},{ys},axis={ax}", {"x": xs, "y": ys}, {"axis": ax})
    for xs, ax in (((0,), 0), ((0,), 1), ((0,), -1), ((2, 0), 1), ((), 0), ((), -1)):
        _add("stack", f"{xs},axis={ax}", {"x": xs, "y": xs}, {"axis": ax})
    for xs, ys, ws, ax in (((2, 0), (2, 3), (2, 1), 1), ((0, 3), (2, 3), (0, 3), 0), ((2, 3), (2, 0), (2, 2), -1),
                           ((0, 3), (0, 3), (0, 3), 1)):
        _add("concat3", f"{xs},{ys},{ws},axis={ax}", {"x": xs, "y": ys, "w": ws}, {"axis": ax})
    for xs, ax in (((0,), 0), ((2, 0), 1), ((2, 0), -3), ((), 0), ((), -1)):
        _add("stack3", f"{xs},axis={ax}", {"x": xs, "y": xs, "w": xs}, {"axis": ax})
    for xs, b, e, st in (((0, 3), [None, None], [None, None], [1, 1]), ((3, 4), [2, None], [1, None], [1, 2]),
                         ((3, 4), [None, 0], [None, 0], [1, -1]), ((), [], [], [])):
        _add("strided_slice", f"{xs},{b}:{e}:{st}", {"x": xs}, {"begin": b, "end": e, "strides": st},
             kind="empty" if xs == (3, 4) else "")  # (3, 4): a slice that selects nothing
    for xs, pads in (((0, 3), [[1, 0], [0, 2]]), ((2, 0), [[0, 0], [0, 0]]), ((2, 0), [[1, 1], [0, 0]]),
                     ((2, 0), [[0, 1], [2, 1]]), ((), [])):
        _add("pad_constant", f"{xs},{pads}", {"x": xs}, {"paddings": pads, "value": 2.0})
    for xs, pads in (((2, 0), [[0, 0], [0, 0]]), ((3, 0), [[1, 1], [0, 0]]), ((0, 3), [[0, 0], [1, 2]]),
                     ((0,), [[0, 0]]), ((), [])):
        _add("pad_reflect", f"{xs},{pads}", {"x": xs}, {"paddings": pads})
    # mirroring a side of size 0: nothing to mirror (all three refuse)
    _add("pad_reflect", "(2,0),[[0,0],[1,0]]", {"x": (2, 0)}, {"paddings": [[0, 0], [1, 0]]}, expect="refused")
    for xs, reps in (((0, 3), [2, 2]), ((2, 3), [0, 1]), ((2, 0), [3, 1]), ((), []), ((), [2]), ((), [2, 3])):
        _add("tile", f"{xs},{reps}", {"x": xs}, {"reps": reps}, kind="empty" if 0 in reps else "")
    for xs, target in (((0,), [2, 0]), ((1,), [0]), ((), [0]), ((), [2, 3]), ((1, 1), [3, 0, 1]), ((), [])):
        _add("broadcast_to", f"{xs}->{target}", {"x": xs}, {"shape": target}, kind="empty" if 0 in target else "")
    i64 = np.int64
    for xs, idx, ax in (((3, 2), np.zeros((0,), i64), 0), ((0, 2), np.array([1, -1, 0]), 1),
                        ((3, 0), np.array([2, 0, 2]), 0), ((3, 2), np.array(-1), 0), ((3, 2), np.array(1), 1),
                        ((3, 2), np.zeros((2, 0), i64), -1), ((4,), np.array(2), 0)):
        _add("gather", f"{xs},idx{idx.shape},axis={ax}", {"x": xs, "indices": idx.shape}, {"axis": ax},
             values={"indices": idx})
    # a 0-d x has no axis to gather along (the mappings all refuse; torch.index_select alone takes one index)
    _add("gather", "(),idx(),axis=0", {"x": (), "indices": ()}, {"axis": 0}, values={"indices": np.array(0)},
         expect="refused")
    for idx, ax in ((0, 0), (0, -1)):  # torch.gather takes a 0-d x with a 0-d index
        _add("take_along_axis", f"(),idx={idx},axis={ax}", {"x": (), "indices": ()}, {"axis": ax},
             values={"indices": np.array(idx)})
    for xs, idx, ax in (((3, 0), np.zeros((2, 0), i64), 0), ((3, 2), np.zeros((3, 0), i64), 1),
                        ((0, 2), np.zeros((0, 4), i64), 1), ((3, 0), np.zeros((0, 0), i64), 0)):
        _add("take_along_axis", f"{xs},idx{idx.shape},axis={ax}", {"x": xs, "indices": idx.shape}, {"axis": ax},
             values={"indices": idx})
    for cs, xs, ys in (((0,), (0,), (0,)), ((2, 0), (1,), (2, 1)), ((), (0,), ()), ((), (), ()), ((3,), (), ()),
                       ((), (2,), (3, 1))):
        cond = np.arange(int(np.prod(cs, dtype=np.int64))).reshape(cs) % 2 == 0
        _add("where", f"{cs},{xs},{ys}", {"cond": cs, "x": xs, "y": ys}, values={"cond": cond})
    for name in ("cumsum", "cumprod", "sort"):
        extra = [{"reverse": False}, {"reverse": True}] if name == "cumsum" else [{}]
        for more in extra:
            tag = "".join(f",{k}={v}" for k, v in more.items())
            for xs, ax in (((0,), 0), ((2, 0), 1), ((2, 0), 0), ((0, 3), -1), ((), 0), ((), -1)):
                values = {"x": np.full(xs, 1.25)} if name == "cumprod" and xs == () else None
                _add(name, f"{xs},axis={ax}{tag}", {"x": xs}, {"axis": ax, **more}, values=values)
    for xs, axes in (((0,), [0]), ((2, 0), [0, 1]), ((2, 0), [-1]), ((), [0]), ((), [-1]), ((), [])):
        _add("flip", f"{xs},axes={axes}", {"x": xs}, {"axes": axes})
    for xs, shift, ax in (((0,), 1, 0), ((2, 0), 3, 0), ((2, 0), -1, 1)):
        _add("roll", f"{xs},shift={shift},axis={ax}", {"x": xs}, {"shift": shift, "axis": ax})
    for shift, ax in ((1, 0), (-2, -1)):  # all three refuse an axis on a 0-d input
        _add("roll", f"(),shift={shift},axis={ax}", {"x": ()}, {"shift": shift, "axis": ax}, expect="refused")


def _attention() -> None:
    for (b, t, s, n, h), causal in (((0, 2, 3, 1, 2), False), ((1, 0, 3, 1, 2), False), ((1, 2, 3, 0, 2), True),
                                    ((1, 2, 3, 1, 0), False), ((1, 2, 0, 1, 2), False), ((1, 0, 0, 1, 2), True)):
        shapes = {"q": (b, t, n, h), "k": (b, s, n, h), "v": (b, s, n, h)}
        _add("scaled_dot_product_attention", f"B{b}T{t}S{s}N{n}H{h},causal={causal}", shapes,
             {"causal": causal, "scale": 0.5})
    for xs, size in (((0, 3, 3, 2), (4, 5)), ((2, 3, 3, 0), (2, 4))):
        _add("resize_bilinear", f"{xs}->{size}", {"x": xs}, {"size": size})
    for size in ((0, 4), (3, 0)):  # JAX alone resizes to a side of 0
        _add("resize_bilinear", f"(2,3,3,1)->{size}", {"x": (2, 3, 3, 1)}, {"size": size}, kind="empty")
    # an image with a side of 0 has nothing to sample (all three refuse)
    _add("resize_bilinear", "(1,0,3,1)->(2,2)", {"x": (1, 0, 3, 1)}, {"size": (2, 2)}, expect="refused")


_elementwise()
_reductions()
_normloss()
_linalg()
_conv()
_shape_ops()
_attention()


def test_every_op_has_edge_cases() -> None:
    """The catalogue covers the whole registry, with each op's inputs (and only those)."""
    ops = all_ops()
    assert sorted({e.op for e in EDGES}) == sorted(ops)
    for e in EDGES:
        assert sorted(e.shapes) == sorted(i.name for i in ops[e.op].inputs), e.id
        assert e.expect in ("ok", "refused"), e.id
    ids = [e.id for e in EDGES]
    assert len(ids) == len(set(ids)), "edge case ids must be unique"
    for op in ops:
        regimes = {e.regime for e in EDGES if e.op == op and e.expect == "ok"}
        assert "empty" in regimes, f"{op}: no empty case the oracle computes"


OK = [e for e in EDGES if e.expect == "ok"]
REFUSED = [e for e in EDGES if e.expect == "refused"]
# the inner-product identity needs an element to move: a non-empty differentiable input
MOVABLE = [e for e in OK if any(np.prod(e.shapes[i.name], dtype=np.int64) > 0
                                for i in get_op(e.op).inputs if i.differentiable)]


def _run(spec: OpSpec, edge: Edge):
    inputs = edge_inputs(edge)
    with np.errstate(all="ignore"):
        out = np.asarray(spec.reference(**inputs, **edge.params), dtype=np.float64)
    dz = np.random.default_rng(1).standard_normal(out.shape)
    grads = spec.reference_vjp(**inputs, dz=dz, **edge.params)
    return inputs, out, dz, grads


def check_well_formed(spec: OpSpec, edge: Edge) -> None:
    """One gradient per differentiable input, of its shape, float64; magnitudes of the same
    shape, finite and at least |gradient| wherever the gradient is finite (no claim where it is
    nan: N <= ddof); terms a positive int. An empty output feeds nothing back: zeros."""
    inputs, out, dz, grads = _run(spec, edge)
    assert sorted(grads) == sorted(spec.differentiable)
    for name, g in grads.items():
        shape = np.shape(inputs[name])
        assert g.value.shape == shape and g.magnitude.shape == shape, (
            f"{edge.id} d{name}: value {g.value.shape}, magnitude {g.magnitude.shape}, input {shape}")
        assert g.value.dtype == np.float64 and g.magnitude.dtype == np.float64, f"{edge.id} d{name}: dtype"
        fin = np.isfinite(g.value)
        assert np.all(np.isfinite(g.magnitude[fin])), f"{edge.id} d{name}: non-finite magnitude"
        assert np.all(g.magnitude[fin] >= np.abs(g.value[fin]) * (1 - 1e-12)), f"{edge.id} d{name}: magnitude < |value|"
        assert isinstance(g.terms, int) and g.terms >= 1, f"{edge.id} d{name}: terms {g.terms!r}"
        if out.size == 0:
            assert np.all(g.value == 0), f"{edge.id} d{name}: an empty output must feed back zeros"


def check_finite_differences(spec: OpSpec, edge: Edge) -> None:
    """dz^T J element by element against central finite differences of the forward (the
    machinery of test_oracle.py), for every non-empty input of at most 64 elements; nan exactly
    where the finite difference is nan (a forward that is nan there: var, std with N <= ddof)."""
    inputs, out, dz, grads = _run(spec, edge)
    for name in spec.differentiable:
        if inputs[name].size == 0 or inputs[name].size > 64:
            continue  # an empty gradient (its shape is checked), or the inner-product test's job
        with np.errstate(all="ignore"):
            want, truncation, rounding = jacobian_dz_columns(spec, inputs, edge.params, name, dz,
                                                             sensitivity(inputs, grads))
        got = grads[name].value
        undefined = np.isnan(want)
        assert np.array_equal(np.isnan(got), undefined), (
            f"{edge.id} d{name}: nan at {np.argwhere(np.isnan(got)).tolist()}, finite differences nan at "
            f"{np.argwhere(undefined).tolist()}")
        d = ~undefined
        size = grads[name].magnitude[d] + np.abs(want[d])
        assert np.all(truncation[d] <= FD_INFORMATIVE * size + rounding[d]), f"{edge.id} d{name}: inconclusive"
        bad = np.abs(got[d] - want[d]) > 1e-6 * size + truncation[d] + rounding[d]
        assert not bad.any(), f"{edge.id} d{name}: oracle {got[d][bad][:3]}, finite differences {want[d][bad][:3]}"


def check_inner_product(spec: OpSpec, edge: Edge) -> None:
    """<t, vjp(dz)> = <J t, dz> on a random direction t over every input at once."""
    inputs, out, dz, grads = _run(spec, edge)
    rng = np.random.default_rng(2)
    direction = {n: rng.standard_normal(np.shape(inputs[n])) * element_scale(inputs[n]) for n in spec.differentiable}
    with np.errstate(all="ignore"):
        fd = fd_dot(spec, inputs, edge.params, direction, dz, sensitivity(inputs, grads))
        lhs = sum(float(np.sum(direction[n] * grads[n].value)) for n in spec.differentiable)
        rhs = fd.dot(dz)
    if np.isnan(rhs):
        assert np.isnan(lhs), f"{edge.id}: finite differences undefined (nan), oracle {lhs}"
        return
    scale = sum(float(np.sum(np.abs(direction[n]) * grads[n].magnitude)) for n in spec.differentiable)
    scale = max(scale, float(np.sum(np.abs(fd.value * dz))), 1e-300)
    assert fd.dot_truncation(dz) <= FD_INFORMATIVE * scale + fd.dot_rounding(dz), f"{edge.id}: inconclusive"
    assert abs(lhs - rhs) <= 1e-6 * scale + fd.dot_error(dz), f"{edge.id}: <t, vjp> = {lhs}, <J t, dz> = {rhs}"


@pytest.mark.parametrize("edge", OK, ids=[e.id for e in OK])
def test_edge_gradients_are_well_formed(edge: Edge) -> None:
    check_well_formed(get_op(edge.op), edge)


@pytest.mark.parametrize("edge", OK, ids=[e.id for e in OK])
def test_edge_gradients_match_finite_differences(edge: Edge) -> None:
    check_finite_differences(get_op(edge.op), edge)


@pytest.mark.parametrize("edge", MOVABLE, ids=[e.id for e in MOVABLE])
def test_edge_inner_product_identity(edge: Edge) -> None:
    check_inner_product(get_op(edge.op), edge)


@pytest.mark.parametrize("edge", REFUSED, ids=[e.id for e in REFUSED])
def test_edge_refused_by_frameworks_raises_a_clear_error(edge: Edge) -> None:
    """A case no framework computes (or that torch and JAX refuse: max of nothing) is refused
    with a ValueError that says why, in the forward and in the VJP."""
    spec = get_op(edge.op)
    inputs = edge_inputs(edge)
    first = spec.differentiable[0]
    with pytest.raises(ValueError, match="(?i)refuse|0-d|out of range|twice"):
        spec.reference(**inputs, **edge.params)
    with pytest.raises(ValueError, match="(?i)refuse|0-d|out of range|twice"):
        spec.reference_vjp(**inputs, dz=np.zeros(np.shape(inputs[first])), **edge.params)


def _edge(edge_id: str) -> Edge:
    (edge,) = [e for e in EDGES if e.id == edge_id]
    return edge


def _broken(name: str, vjp) -> OpSpec:
    return dataclasses.replace(get_op(name), reference_vjp=vjp)


def test_edge_checks_catch_broken_oracles() -> None:
    """Meta test: each check fails on an oracle that is wrong in the way these regimes break."""
    from reference import Grad
    from reference import linalg as L
    from reference import reduction as R
    from reference import shape as S

    def cumsum_as_1d(x, dz, axis, reverse=False):  # the 0-d gradient of shape (1,)
        return {"x": Grad(np.reshape(dz, (1,)), np.abs(np.reshape(dz, (1,))))}

    with pytest.raises(AssertionError, match="value \\(1,\\)"):
        check_well_formed(_broken("cumsum", cumsum_as_1d), _edge("cumsum[(),axis=0,reverse=False]"))

    def matmul_leaking(x, y, dz):  # ones flowing back from an empty output
        g = L.matmul_vjp(x, y, dz)
        return {**g, "x": Grad(np.ones(np.shape(x)), np.ones(np.shape(x)), terms=1)}

    with pytest.raises(AssertionError, match="empty output"):
        check_well_formed(_broken("matmul", matmul_leaking), _edge("matmul[(2, 3)@(3, 0)]"))

    def mean_zero_terms(x, dz, axis=None, keepdims=False):
        g = R.mean_vjp(x, dz, axis, keepdims)["x"]
        return {"x": Grad(g.value, g.magnitude, terms=0)}

    with pytest.raises(AssertionError, match="terms 0"):
        check_well_formed(_broken("mean", mean_zero_terms), _edge("mean[(2, 0),axis=1,keep=False]"))

    def cumprod_doubled(x, dz, axis):  # a 0-d gradient off by a factor
        g = S.cumprod_vjp(x, dz, axis)["x"]
        return {"x": Grad(2 * g.value, 2 * g.magnitude)}

    with pytest.raises(AssertionError, match="finite differences"):
        check_finite_differences(_broken("cumprod", cumprod_doubled), _edge("cumprod[(),axis=-1]"))

    def std_zero_when_undefined(x, dz, axis=None, keepdims=False, ddof=0):  # 0 where N = ddof
        return {"x": Grad(np.zeros(np.shape(x)), np.zeros(np.shape(x)))}

    with pytest.raises(AssertionError, match="nan at"):
        check_finite_differences(_broken("std", std_zero_when_undefined), _edge("std[(2,1),axis=1,ddof=1]"))

    def matmul_1d_wrong_sign(x, y, dz):  # dy of a 1-D x with its sign flipped
        g = L.matmul_vjp(x, y, dz)
        return {**g, "y": Grad(-g["y"].value, g["y"].magnitude, terms=g["y"].terms)}

    with pytest.raises(AssertionError, match="<t, vjp>"):
        check_inner_product(_broken("matmul", matmul_1d_wrong_sign), _edge("matmul[(3,)@(2, 3, 4)]"))
