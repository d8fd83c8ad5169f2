"""torch mappings of the elementwise family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
