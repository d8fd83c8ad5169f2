"""torch mappings of the conv family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
