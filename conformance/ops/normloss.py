"""OpSpecs of the normloss family; filled in by the catalogue work."""

OPS: list = []
