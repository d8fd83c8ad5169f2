"""OpSpecs of the shape family; filled in by the catalogue work."""

OPS: list = []
