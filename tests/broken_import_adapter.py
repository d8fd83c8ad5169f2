"""An adapter module whose framework fails on import (as a missing shared library would)."""

raise ImportError("libfancygrad.so: cannot open shared object file")
