"""The oracle: forward functions and vector-Jacobian products in NumPy, float64.

Nothing below this package imports a framework. Every VJP returns, for each differentiable
input, a :class:`Grad`: the gradient, its rounding *magnitude* (the same expression evaluated on
absolute values, plus the conditioning of intermediate values where that matters) and the
number of terms summed into each element (the reduction length that rounding error grows with).
"""

from reference._grad import Grad, unbroadcast

__all__ = ["Grad", "unbroadcast"]
