"""Training loops, checkpoints and the live view (needs the `train` extra: torch, kornia)."""
