"""OpSpecs of the attention family; filled in by the catalogue work."""

OPS: list = []
