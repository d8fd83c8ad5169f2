"""vjp-conformance: property-based conformance of framework VJPs against a NumPy oracle."""

__version__ = "0.1.0"
