"""The op catalogue: one module per family, each exporting ``OPS``, a list of OpSpecs."""
