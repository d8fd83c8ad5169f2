"""torch mappings of the attention family (see ../mapping.py). Inputs arrive channels-last:
attention q/k/v as (B, T, N, H), images as NHWC."""

import torch
import torch.nn.functional as F

from conformance.adapters.base import Unsupported
from conformance.adapters.mapping import impl
from reference.attention import tiled


def _attn_mask(q, t: int, s: int, causal, mask, bias):
    """torch's one attn_mask for the catalogue's causal flag, boolean mask and additive mask: a
    boolean (T, S) mask (True: attend) without a bias, else a float one (the bias, -inf where
    masked). torch refuses an attn_mask together with is_causal, so causal goes into it."""
    valid = torch.ones((t, s), dtype=torch.bool, device=q.device)
    if causal:
        valid = torch.tril(valid)
    if mask is not None:
        valid = valid & torch.from_numpy(tiled(mask, t, s, bool)).to(q.device)
    if bias is None:
        return valid
    additive = torch.from_numpy(tiled(bias, t, s)).to(dtype=q.dtype, device=q.device)
    return additive.masked_fill(~valid, float("-inf"))


@impl("torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale) on (B, N, T, H); "
      "with a mask or bias: attn_mask (boolean, or the bias with -inf where masked, causal folded in)")
def scaled_dot_product_attention(q, k, v, causal, scale, mask, bias):
    def heads_first(t):
        return t.permute(0, 2, 1, 3)

    if mask is None and bias is None:
        z = F.scaled_dot_product_attention(heads_first(q), heads_first(k), heads_first(v), is_causal=causal,
                                           scale=scale)
    else:
        attn_mask = _attn_mask(q, q.shape[1], k.shape[1], causal, mask, bias)
        z = F.scaled_dot_product_attention(heads_first(q), heads_first(k), heads_first(v), attn_mask=attn_mask,
                                           scale=scale)
    return z.permute(0, 2, 1, 3)


@impl("torch.nn.functional.interpolate(mode='bilinear', align_corners=align_corners, antialias=antialias) on NCHW "
      "(align_corners=False is half-pixel centres; asymmetric coordinates: no torch mode, Unsupported)")
def resize_bilinear(x, size, align_corners, half_pixel_centers, antialias):
    if antialias and not (half_pixel_centers and not align_corners):
        raise Unsupported("antialiased bilinear resizing is defined with half-pixel centres only")
    if not align_corners and not half_pixel_centers:
        raise Unsupported("torch.nn.functional.interpolate has no asymmetric bilinear coordinates (TensorFlow 1's "
                          "src = o * in / out): align_corners=False is half-pixel centres")
    if align_corners and half_pixel_centers:
        raise Unsupported("align_corners with half_pixel_centers is undefined")
    z = F.interpolate(x.permute(0, 3, 1, 2), size=tuple(int(s) for s in size), mode="bilinear",
                      align_corners=bool(align_corners), antialias=bool(antialias))
    return z.permute(0, 2, 3, 1)
