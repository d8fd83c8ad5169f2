# jax conv input gradient with padding (2, 0), kernel 2 (openxla/xla#48713) against central finite
# differences of a NumPy float64 convolution (no JAX in the truth)
import jax
import numpy as np
from jax import lax


def np_conv1d(x, w, pad):  # NWC, WIO, stride 1
    xp = np.pad(x, ((0, 0), pad, (0, 0)))
    k = w.shape[0]
    n_out = xp.shape[1] - k + 1
    return np.stack([np.einsum("nkc,kco->no", xp[:, i:i + k, :], w) for i in range(n_out)], 1)
x = np.array([1., 2., 3., 4.]).reshape(2, 2, 1)
w = np.array([[1., 2., 3., 4.], [0.5, -1., 0.25, 2.]]).reshape(2, 1, 4)
dz = np.ones(np_conv1d(x, w, (2, 0)).shape)
h = 1e-6
fd = np.zeros_like(x)
for idx in np.ndindex(x.shape):
    e = np.zeros_like(x)
    e[idx] = h
    fd[idx] = ((np_conv1d(x + e, w, (2, 0)) - np_conv1d(x - e, w, (2, 0))) * dz).sum() / (2 * h)
f = lambda x, w: lax.conv_general_dilated(x, w, (1,), [(2, 0)], dimension_numbers=("NWC", "WIO", "NWC"))
z, pull = jax.vjp(f, x.astype(np.float32), w.astype(np.float32))
got = np.asarray(pull(np.ones(z.shape, np.float32))[0]).ravel()
print("jax", jax.__version__, "dx", got, "finite differences", fd.ravel().round(6),
      "max err", np.abs(got - fd.ravel()).max())
