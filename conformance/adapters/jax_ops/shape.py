"""jax mappings of the shape family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
