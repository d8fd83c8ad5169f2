"""Op mappings of the torch adapter, one module per catalogue family (see ../mapping.py)."""

FAMILIES = ("elementwise", "reduction", "normloss", "linalg", "conv", "shape", "attention")
