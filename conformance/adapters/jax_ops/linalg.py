"""jax mappings of the linalg family (see ../mapping.py); filled in by the catalogue work."""

OPS: dict = {}
