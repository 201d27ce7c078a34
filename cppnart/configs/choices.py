"""The names of the choices commands offer, apart from the modules that implement them.

``--help`` and shell completion list these without importing numpy or onnxruntime (numpy alone
is about a third of a bare ``--help``'s start, bench/startup.py); each implementing module
imports its tuple from here, so a choice is named once.
"""

from __future__ import annotations

EASINGS = ("linear", "sine", "smooth")  # latent.paths.ease
PATHS = ("lerp", "slerp")  # latent.paths: straight or great-circle paths between latents
# io.animation's GIF palettes: one per frame or one for the whole file, each ordered-dithered,
# plain, or Floyd-Steinberg dithered
GIF_STRATEGIES = ("per-frame-ordered", "per-frame", "per-frame-fs", "global-ordered", "global", "global-fs")
GIF_DEFAULT_STRATEGY = "per-frame-ordered"  # the measured best (io.animation says why)
PRECISIONS = ("fp32", "fp16")  # what a render computes in; fp16 keeps the first layer and the output in fp32
BACKENDS = ("auto", "onnxruntime", "torch")  # who runs the ONNX graph; torch is train.torch_render's
