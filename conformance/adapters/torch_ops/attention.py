"""torch mappings of the attention family (see ../mapping.py). Inputs arrive channels-last:
attention q/k/v as (B, T, N, H), images as NHWC."""

import torch.nn.functional as F

from conformance.adapters.mapping import impl


@impl("torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale) on (B, N, T, H)")
def scaled_dot_product_attention(q, k, v, causal, scale):
    def heads_first(t):
        return t.permute(0, 2, 1, 3)

    z = F.scaled_dot_product_attention(heads_first(q), heads_first(k), heads_first(v), is_causal=causal, scale=scale)
    return z.permute(0, 2, 1, 3)


@impl("torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=False) on NCHW")
def resize_bilinear(x, size):
    z = F.interpolate(x.permute(0, 3, 1, 2), size=tuple(int(s) for s in size), mode="bilinear",
                      align_corners=False, antialias=False)
    return z.permute(0, 2, 3, 1)
