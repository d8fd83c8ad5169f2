"""Hypothesis settings for the project's own tests: in CI every run draws the same examples
(derandomize), so a red CI run is a real regression, never a new random draw.

``--hypothesis-profile=thorough`` (or ``VJP_TEST_EXAMPLES_SCALE``) multiplies every test's own
``max_examples`` (see :func:`tests.examples`) to flush out rare draws locally."""

import os

from hypothesis import settings

settings.register_profile("project-ci", derandomize=True, deadline=None)
# 20x the examples of each test (a test's max_examples of 15 becomes 300)
settings.register_profile("thorough", max_examples=2000, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("project-ci")
