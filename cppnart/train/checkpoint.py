"""Training checkpoints: config + module/optimizer states + step + every RNG state, written atomically.

    save_checkpoint(run / "checkpoint.pt", config=to_dict(config), step=step,
                    states={"generator": gen, "decoder": dec, "optimizer": opt},
                    generators={"messages": message_rng})
    payload = load_checkpoint(run / "checkpoint.pt")     # UserError if corrupt / not ours
    restore(payload, states={...same names...}, generators={...})   # continues exactly

Resuming is exact because the checkpoint carries, besides the weights and the optimizer's
moments, the global torch RNG (kornia's random augmentations draw from it), CUDA's, Python's,
numpy's, and any dedicated ``torch.Generator`` the loop uses (e.g. for messages). Files load
with ``torch.load(weights_only=True)``: only tensors and plain containers, never pickled code,
so numpy's state is stored as plain lists.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..configs.schema import RANGES
from ..errors import UserError
from ..io.atomic import atomic_output

FORMAT = "cppnart-checkpoint"
VERSION = 1


def capture_rng(generators: dict[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Every RNG state a training step draws from (torch, CUDA, Python, numpy and the named
    ``generators``), as tensors and plain lists that ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [kind, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)],
        "generators": {name: g.get_state() for name, g in (generators or {}).items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Put back the states ``capture_rng`` took, so a resumed run draws what the first run would have."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for name, g in (generators or {}).items():
        g.set_state(state["generators"][name])


def save_checkpoint(
    path: str | Path,
    *,
    config: dict[str, Any],
    step: int,
    states: dict[str, Any],
    generators: dict[str, torch.Generator] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the checkpoint to a temporary file and rename it into place (never half-written).

    ``states`` maps names to anything with ``state_dict()`` (modules, optimizers, schedulers).
    ``extra`` holds plain values (lists, numbers, strings, tensors) the loop wants back.
    """
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": config,
        "step": int(step),
        "states": {name: obj.state_dict() for name, obj in states.items()},
        "rng": capture_rng(generators),
        "extra": extra or {},
    }
    # Serialise in memory, then write with Python: torch's own file writer turns a full disk into
    # an opaque RuntimeError (and keeps the file open); a plain write raises OSError(ENOSPC).
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_output(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and sanity-check a checkpoint on the CPU; anything unreadable is a one-line UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint at '{path}'; name a training run folder (or its checkpoint.pt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle refused by weights_only, plain garbage...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"checkpoint '{path}' is corrupt or not a cppnart checkpoint ({reason[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"'{path}' is not a cppnart checkpoint")
    if payload.get("version") != VERSION:
        raise UserError(
            f"checkpoint '{path}' has format version {payload.get('version')}; this cppnart reads {VERSION}"
        )
    for key, kind in (("config", dict), ("step", int), ("states", dict), ("rng", dict)):
        if key not in payload:
            raise UserError(f"checkpoint '{path}' is incomplete (no '{key}'); it cannot be resumed")
        if not isinstance(payload[key], kind) or isinstance(payload[key], bool):
            raise UserError(f"checkpoint '{path}': '{key}' must be {kind.__name__}, got {type(payload[key]).__name__}")
    if not 0 <= payload["step"] <= RANGES["steps"].high:
        raise UserError(f"checkpoint '{path}': 'step' {payload['step']} is out of range")
    return payload


def restore(
    payload: dict[str, Any],
    *,
    states: dict[str, Any],
    generators: dict[str, torch.Generator] | None = None,
    where: str = "checkpoint",
    rng: bool = True,
) -> int:
    """Load every state (and, unless ``rng=False``, every RNG) back; returns the step to continue from."""
    for name, obj in states.items():
        if name not in payload["states"]:
            raise UserError(f"{where} has no '{name}' state; it was written by a different model")
        try:
            obj.load_state_dict(payload["states"][name])
        except (RuntimeError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0]
            raise UserError(f"{where}: '{name}' does not fit this model ({first[:160]})") from None
    if not rng:
        return int(payload["step"])
    try:
        restore_rng(payload["rng"], generators)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise UserError(f"{where}: random-number state is damaged ({exc})") from None
    return int(payload["step"])


def checkpoint_config(payload: dict[str, Any], cls: type, where: str) -> Any:
    """The config a run was trained with, rebuilt from its checkpoint and validated.

    A checkpoint of another model family is a UserError naming both kinds.
    """
    import dataclasses

    from ..configs.schema import from_dict

    expected = next(f.default for f in dataclasses.fields(cls) if f.name == "kind")
    kind = payload["config"].get("kind", expected)
    if kind != expected:
        raise UserError(f"{where} is a '{kind}' run, not {expected}")
    config = from_dict(cls, payload["config"], where)
    config.validate(where)
    return config
