"""The fixed parts of ``vjp-conformance repro`` scripts (see conformance/repro.py): one template
per built-in framework, following its adapter's ``vjp`` step for step, the third-party adapter
template, and the driver that prints the figures next to the recorded ones.

tests/test_repro.py runs these scripts and requires the adapters' figures exactly: an adapter
whose steps change (as JAX's did, to one jitted VJP) shows there.
"""

TORCH = '''
def _to_tensor(a):
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(a).view(np.int16)).view(torch.bfloat16).to(DEVICE)
    return torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE)


def _to_numpy(t):
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(DTYPE)
    return t.numpy()


def framework_vjp():
    """torch.autograd.grad(out, inputs, grad_outputs=dz), the adapter's steps."""
    tensors, wrt = {}, []
    for name, value in INPUTS.items():
        t = _to_tensor(value)
        if name in DIFFERENTIABLE:
            t.requires_grad_(True)
            wrt.append(t)
        tensors[name] = t
    out = op(**tensors, **PARAMS)
    grads = torch.autograd.grad(out, wrt, grad_outputs=_to_tensor(COTANGENT), allow_unused=True)
    return {n: _to_numpy(torch.zeros_like(t) if g is None else g) for n, t, g in zip(DIFFERENTIABLE, wrt, grads)}
'''
TENSORFLOW = '''
TF_DEVICE = "/CPU:0" if DEVICE == "cpu" else "/GPU:" + DEVICE.split(":")[1]


def framework_vjp():
    """tf.GradientTape().gradient(out, inputs, output_gradients=dz), the adapter's steps."""
    with tf.device(TF_DEVICE):
        tensors = {name: tf.constant(value) for name, value in INPUTS.items()}
        wrt = [tensors[n] for n in DIFFERENTIABLE]
        with tf.GradientTape() as tape:
            for t in wrt:
                tape.watch(t)
            out = op(**tensors, **PARAMS)
        grads = tape.gradient(out, wrt, output_gradients=tf.constant(COTANGENT))
    return {n: np.asarray(tf.convert_to_tensor(tf.zeros_like(t) if g is None else g).numpy())
            for n, t, g in zip(DIFFERENTIABLE, wrt, grads)}
'''
JAX = '''
def framework_vjp():
    """jax.vjp(f, *inputs) and the pullback applied to dz, jitted as one function: the adapter's steps."""
    dev = jax.devices("cpu")[0] if DEVICE == "cpu" else jax.devices("gpu")[int(DEVICE.split(":")[1])]

    def vjp_of(arrays, cotangent):
        def f(*diff):
            kw = dict(arrays)
            kw.update(zip(DIFFERENTIABLE, diff))
            return op(**kw, **PARAMS)

        _, pullback = jax.vjp(f, *(arrays[n] for n in DIFFERENTIABLE))
        return pullback(cotangent)

    arrays = {name: jax.device_put(v, dev) for name, v in INPUTS.items()}
    grads = jax.jit(vjp_of)(arrays, jax.device_put(COTANGENT, dev))
    return {n: np.asarray(g) for n, g in zip(DIFFERENTIABLE, grads)}
'''
PLUGIN = '''
def framework_vjp():
    """The third-party adapter's own vjp(), as the suite calls it."""
    if ADAPTER is None:
        raise SystemExit("the run does not say where this framework's adapter came from: set ADAPTER")
    from conformance.adapters import load
    from conformance.registry import get_op

    av = load(ADAPTER)
    if av.adapter is None:
        raise SystemExit(f"cannot load the adapter {ADAPTER}: {av.reason}")
    if hasattr(av.adapter, "set_precision"):
        av.adapter.set_precision(PRECISION)
    return av.adapter.vjp(get_op(OP), dict(INPUTS), dict(PARAMS), COTANGENT, dtype=DTYPE_NAME, device=DEVICE)
'''
# (prelude lines run before the imports, import lines, strict-precision lines, template)
FRAMEWORKS = {
    "torch": ([], ["import torch"], [
        "torch.backends.cuda.matmul.allow_tf32 = False", "torch.backends.cudnn.allow_tf32 = False",
        "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False",
        "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False"], TORCH),
    "tensorflow": (["import os", "", 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")'],
                   ["import tensorflow as tf"], ["tf.config.experimental.enable_tensor_float_32_execution(False)"],
                   TENSORFLOW),
    "jax": (["import jax", "", 'jax.config.update("jax_enable_x64", True)  # as the adapter does'],
            [], ['jax.config.update("jax_default_matmul_precision", "highest")'], JAX),
}
MAIN = '''
def check_output(got):
    """Why the framework's answer is not one array per input, of its shape and dtype (None when it is)."""
    for name, g in ORACLE.items():
        arr = got.get(name) if isinstance(got, dict) else None
        if not isinstance(arr, np.ndarray):
            return f"gradient {name!r}: expected numpy.ndarray, got {type(arr).__name__}"
        if arr.shape != g.value.shape:
            return f"gradient {name!r}: expected shape {g.value.shape}, got {arr.shape}"
        if arr.dtype != DTYPE_INFO.numpy:
            return f"gradient {name!r}: expected dtype {DTYPE_NAME}, got {arr.dtype}"
    return None


def report(got):
    """Print the record's figures for this run next to the recorded ones; return the verdict."""
    problem = check_output(got)
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
    print(f"{OP} on {FRAMEWORK}, device {DEVICE}, dtype {DTYPE_NAME}, precision {PRECISION}")
    try:
        got = framework_vjp()
    except Exception as e:  # the framework raised: say so beside what the record says
        print(f"this run: error: {type(e).__name__}: {e}")
        print(f"recorded: {RECORDED['status']}" + (f" ({RECORDED_MESSAGE})" if RECORDED_MESSAGE else ""))
        raise SystemExit(1)
    report(got)
'''
