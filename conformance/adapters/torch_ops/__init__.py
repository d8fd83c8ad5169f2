"""Op mappings of the torch adapter, one module per catalogue family (see ../mapping.py)."""

FAMILIES = ("seed", "elementwise", "reduction", "normloss", "linalg", "conv", "shape", "attention")
