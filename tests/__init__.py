"""The project's own tests."""

from __future__ import annotations

import math
import os

from hypothesis import settings

_DEFAULT_MAX_EXAMPLES = 100  # Hypothesis's own default


def examples(n: int) -> int:
    """A test's ``max_examples``, scaled by the loaded profile (``--hypothesis-profile=thorough``
    has 20 times Hypothesis's default, so ``examples(15)`` is 300) or by the environment variable
    ``VJP_TEST_EXAMPLES_SCALE``. CI's profile keeps the default, so CI runs exactly ``n``."""
    scale = settings.default.max_examples / _DEFAULT_MAX_EXAMPLES
    scale *= float(os.environ.get("VJP_TEST_EXAMPLES_SCALE", "1"))
    return max(1, math.ceil(n * scale))
