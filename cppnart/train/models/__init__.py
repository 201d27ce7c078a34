"""torch modules built from one config each, no I/O (needs the `train` extra)."""
