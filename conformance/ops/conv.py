"""OpSpecs of the conv family; filled in by the catalogue work."""

OPS: list = []
