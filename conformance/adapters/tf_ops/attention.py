"""tf mappings of the attention family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
