"""OpSpecs of the linalg family; filled in by the catalogue work."""

OPS: list = []
