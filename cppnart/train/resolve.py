"""The resume resolver: the config a `train` command trains, and the checkpoint it goes on from.

    config, payload = resolve_run(GlyphConfig, preset, out, resume=False, steps=None, seed=None)

One resolver for every family (its row in ``families`` says where the config keeps steps and
seed): the run folder is checked first; ``--resume`` loads the checkpoint, whose config wins (a
preset given too must describe the same model); ``--steps`` extends a run, stretching its lr
schedule; ``--seed`` is for a fresh run only; the config's memory estimate is checked against
the budget before torch allocates. No torch is imported here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..configs.schema import to_dict
from ..errors import ParamError, UserError
from .families import family_for
from .run_folder import CHECKPOINT, check_run_folder

TEST_STEPS = "CPPNART_TEST_STEPS"


def capped_steps(steps: int) -> int:
    """``steps``, or fewer where the testing knob ``CPPNART_TEST_STEPS=N`` caps them at N.

    For tests that run the README's commands as written (``tests/test_readme.py``): every training,
    sweep run, dream and z fit then stops after at most N steps. Not for real work; unset, or not a
    positive whole number, it changes nothing.
    """
    cap = os.environ.get(TEST_STEPS, "")
    return min(steps, int(cap)) if cap.isdigit() and int(cap) >= 1 else steps


def resolve_run(
    cls: type[Any], preset: Any | None, out: Path, *, resume: bool, steps: int | None = None, seed: int | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """The config to train in ``out`` and, on resume, the loaded checkpoint."""
    from .checkpoint import checkpoint_config, load_checkpoint

    family = family_for(cls)
    kind = family.kind
    out = Path(out)
    check_run_folder(out, resume)
    if preset is not None and not isinstance(preset, cls):
        raise UserError(f"preset '{preset.name}' is of kind '{preset.kind}'; `train {kind}` needs a '{kind}' preset")
    payload = None
    if resume:
        payload = load_checkpoint(out / CHECKPOINT)
        config = checkpoint_config(payload, cls, str(out / CHECKPOINT))
        if preset is not None and (diff := _first_difference(_model_part(config), _model_part(preset))):
            key, theirs, mine = diff
            raise UserError(
                f"the run in '{out}' has {key.replace('_', ' ')} {theirs} but preset "
                f"'{preset.name}' has {mine}; resume it without a preset, or start a new run elsewhere"
            )
        if seed is not None and seed != family.seed(config):
            raise ParamError("seed", f"cannot change when a run resumes (the run uses seed {family.seed(config)})")
    elif preset is None:
        raise ParamError(
            "preset", "name a preset with {param} (see `cppnart presets`), or pass {resume}", also=("resume",)
        )
    else:
        config = preset if seed is None else family.with_seed(preset, seed)
    if steps is not None:
        if steps < 1:
            raise ParamError("steps", f"must be at least 1, got {steps}")
        config = family.with_steps(config, steps)
    if (cap := capped_steps(family.steps(config))) != family.steps(config):
        config = family.with_steps(config, cap)
    family.check_memory(config, str(out))
    return config, payload


def _model_part(config: Any) -> dict[str, Any]:
    """What defines the model (not the training length, schedule, seed or name)."""
    table = to_dict(config)
    for key in (
        "name",
        "description",
        "train",
        "schedule",
        "steps",
        "seed",
        "sample_every",
        "checkpoint_every",
        "eval_every",
        "batch",
        "holdout",
        "lr",
        "lr_final",
        "batch_pixels",
        "sample_count",
        "upscale_size",
        "render_scale",
        "data_limit",
    ):
        table.pop(key, None)
    return table


def _first_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> tuple[str, Any, Any] | None:
    """(dotted key, value in a, value in b) of the first key where two config tables differ."""
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            found = _first_difference(x, y, f"{prefix}{key}.")
            if found:
                return found
        elif x != y:
            return f"{prefix}{key}", x, y
    return None
