"""torch mappings of the reduction family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
