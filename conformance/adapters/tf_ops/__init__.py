"""Op mappings of the tf adapter, one module per catalogue family (see ../mapping.py)."""

FAMILIES = ("elementwise", "reduction", "normloss", "linalg", "conv", "shape", "attention")
