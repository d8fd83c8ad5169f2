"""Op mappings of the jax adapter, one module per catalogue family (see ../mapping.py)."""

FAMILIES = ("elementwise", "reduction", "normloss", "linalg", "conv", "shape", "attention")
