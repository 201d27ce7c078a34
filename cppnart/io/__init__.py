"""I/O: atomic files, PNG and animation writers, the metadata images carry, data sets on disk."""
