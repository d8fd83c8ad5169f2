"""Op mappings of the torch adapter, one module per catalogue family (see ../mapping.py)."""

FAMILIES = ("seed",)
