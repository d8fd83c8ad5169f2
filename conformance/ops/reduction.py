"""OpSpecs of the reduction family; filled in by the catalogue work."""

OPS: list = []
