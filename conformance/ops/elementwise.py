"""OpSpecs of the elementwise family; filled in by the catalogue work."""

OPS: list = []
