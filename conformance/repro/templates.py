"""The fixed text of ``vjp-conformance repro`` scripts (see conformance/repro/script.py): the driver
that prints this run's figures next to the recorded ones, and ``reproduce()``, the record's VJP as
the suite ran it. A built-in framework's ``reproduce()`` calls the adapter's own code, copied from its
repro section (conformance/repro/copier.py); a third-party adapter's loads that adapter.

The record's execution mode (``MODE``: eager, compile, aot_eager, jit, function, xla) is an argument
of the adapter's ``framework_vjp``, like its device: a compiled-mode record's script runs the
compiled path.
"""

# names the script itself defines: copied code must not redefine them
RESERVED = frozenset({
    "np", "inf", "nan", "SimpleNamespace", "FRAMEWORK", "OP", "DTYPE", "DTYPE_NAME", "DTYPE_INFO", "DEVICE",
    "PRECISION", "MODE", "LAYOUT_ARGS", "INPUTS", "PARAMS", "COTANGENT", "DIFFERENTIABLE", "ORACLE", "BUDGETS",
    "RECORDED", "RECORDED_MESSAGE", "ADAPTER", "op", "reproduce", "report"})
# lines a script runs before its imports, per framework (TensorFlow's import banners; no effect on numbers)
BEFORE_IMPORTS = {"tensorflow": ["import os", "", 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")']}
BUILTIN_REPRODUCE = '''
def reproduce():
    """The record's VJP as the suite ran it: the adapter's framework_vjp (above) on the record's
    inputs in its execution mode MODE and memory layout (LAYOUT_ARGS), after the adapter's
    STRICT_PRECISION flags in precision mode 'strict'."""
    if PRECISION == "strict":
        print(f"precision flags: {set_precision_flags(STRICT_PRECISION)}")
    return framework_vjp(op, INPUTS, PARAMS, COTANGENT, DIFFERENTIABLE, DEVICE, MODE, **LAYOUT_ARGS)
'''
PLUGIN = '''
def reproduce():
    """The record's VJP as the suite ran it: the third-party adapter's own vjp()."""
    if ADAPTER is None:
        raise SystemExit("the run does not say where this framework's adapter came from: set ADAPTER")
    from conformance.adapters import load
    from conformance.registry import get_op

    av = load(ADAPTER)
    if av.adapter is None:
        raise SystemExit(f"cannot load the adapter {ADAPTER}: {av.reason}")
    if hasattr(av.adapter, "set_precision"):
        av.adapter.set_precision(PRECISION)
    mode = {"mode": MODE} if getattr(av.adapter, "modes", None) else {}
    return av.adapter.vjp(get_op(OP), dict(INPUTS), dict(PARAMS), COTANGENT, dtype=DTYPE_NAME, device=DEVICE,
                          **mode, **LAYOUT_ARGS)
'''
MAIN = '''
def report(got):
    """Print the record's figures for this run next to the recorded ones; return the verdict."""
    problem = check_output(got, ORACLE, DTYPE_INFO)  # the suite's own check (conformance/compare.py)
    if problem:
        print(f"bad-output: {problem}")
        print(f"recorded: {RECORDED['status']}")
        return "bad-output"
    for name, g in ORACLE.items():
        if g.value.size <= 12:
            print(f"d{name} = {got[name].astype(np.float64).tolist()}\\n  oracle {g.value.tolist()}")
    with np.errstate(all="ignore"):
        fig = compare(got, ORACLE, DTYPE_INFO, lambda name, grad: BUDGETS[name])
    status = verdict(fig)
    for name, item in fig.per_input.items():
        print(f"d{name}: " + ", ".join(f"{k} {v!r}" for k, v in item.items()))
    if fig.worst:
        print(f"worst element: {fig.worst}")
    if fig.nonfinite:
        print(f"non-finite: {fig.nonfinite}")
    print(f"this run: max_abs_err={fig.max_abs_err!r} max_rel_err={fig.max_rel_err!r} max_ulp={fig.max_ulp!r} "
          f"bound_ratio={fig.bound_ratio!r} budget={fig.budget!r} -> {status}")
    print("recorded: " + " ".join(f"{k}={RECORDED[k]!r}" for k in ("max_abs_err", "max_rel_err", "max_ulp",
                                                                  "bound_ratio", "budget"))
          + f" -> {RECORDED['status']}")
    return status


if __name__ == "__main__":
    print(f"{OP} on {FRAMEWORK}, device {DEVICE}, dtype {DTYPE_NAME}, precision {PRECISION}, mode {MODE}")
    try:
        got = reproduce()
    except Exception as e:  # the framework raised: say so beside what the record says
        print(f"this run: error: {type(e).__name__}: {e}")
        print(f"recorded: {RECORDED['status']}" + (f" ({RECORDED_MESSAGE})" if RECORDED_MESSAGE else ""))
        raise SystemExit(1)
    report(got)
'''
