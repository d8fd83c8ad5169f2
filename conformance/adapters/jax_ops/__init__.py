"""Op mappings of the jax adapter, one module per catalogue family (see ../mapping.py)."""

FAMILIES = ("seed", "elementwise", "reduction", "normloss", "linalg", "conv", "shape", "attention")
