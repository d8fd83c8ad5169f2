"""tf mappings of the normloss family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
