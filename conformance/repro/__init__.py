"""``vjp-conformance repro``: a standalone Python script that reproduces one record.

``find`` locates the record and its run's manifest; ``copier`` copies the project's own source into
the script as text (a built-in adapter's repro section with its VJP step and strict-precision
flags, the op's mapping, the suite's comparison); ``templates`` holds the fixed text (the driver,
the third-party adapter's ``reproduce``); ``script`` puts them together. Nothing here imports a
framework.
"""

from __future__ import annotations

from conformance.repro.copier import OPS_PACKAGES, adapter_section, comparison_source, mapping_source
from conformance.repro.find import ReproError, find_record, manifest_for
from conformance.repro.script import array_literal, build_script, is_builtin, main

__all__ = ["OPS_PACKAGES", "ReproError", "adapter_section", "array_literal", "build_script", "comparison_source",
           "find_record", "is_builtin", "main", "manifest_for", "mapping_source"]
