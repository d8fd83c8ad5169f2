"""Hypothesis settings for the project's own tests: in CI every run draws the same examples
(derandomize), so a red CI run is a real regression, never a new random draw."""

import os

from hypothesis import settings

settings.register_profile("project-ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("project-ci")
