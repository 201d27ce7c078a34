"""The training families, one row each: what `train`, `sweep` and the resume resolver know of a kind.

    family = FAMILIES["classifier"]
    config = load_preset(family.default_preset)
    inputs = family.load(config, "builtin:digits", out=out, payload=None)
    result = family.train(config, inputs, out, device="cpu", payload=None, callbacks=Callbacks())
    family.scores(result)          # {"accuracy": 0.97, "accuracy_untrained": 0.1, "holdout": 200}

A row holds plain values and functions that import torch only when called, so this module (and
the CLI that reads it) imports without torch. The config class comes from the torch-free
``configs.presets.KINDS`` (the preset loader's registry), so the two cannot disagree. Adding a
family is its config module (named in ``configs.presets.CONFIGS``), its trainer module and one
row here (see CONTRIBUTING.md, "Adding a training family").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..configs.presets import KINDS

Key = tuple[str | None, str]  # where a config keeps a value: (table, key); table None = top level


@dataclass(frozen=True)
class Family:
    """One training family: its config, its inputs, its trainer, its scores and its run files.

    ``load(config, source, *, out, payload, resize)`` reads what the trainer trains on (``source``
    is the data set or the image; None on --resume means the run's own); ``train(config, inputs,
    out, *, device, payload, callbacks)`` trains a run folder and returns the family's result;
    ``scores(result)`` are the numbers a run reports (the CLI's --json, a sweep's result.json);
    ``score`` is the one a sweep ranks by (metric, higher is better); ``files`` the files a
    finished run holds (name -> file in the run folder); ``report(result, inputs, out, start)``
    the closing line and ``banner(config, inputs, device, start)`` the opening one (None: none);
    ``memory(config)`` estimates the bytes a run holds, checked before it starts (``check_memory``).
    """

    kind: str
    default_preset: str
    steps_key: Key
    seed_key: Key
    source: str | None  # what ``load`` takes: "data" (an image set), "image" (one image) or None
    load: Callable[..., Any]
    train: Callable[..., Any]
    scores: Callable[[Any], dict[str, float]]
    score: tuple[str, bool]
    files: tuple[tuple[str, str], ...]
    report: Callable[[Any, Any, Path, int], str]
    banner: Callable[[Any, Any, str, int], str] | None = None
    memory: Callable[[Any], float] | None = None  # bytes a run of the config holds at once (None: unbounded here)

    @property
    def config(self) -> type:
        """The family's config dataclass (from the preset loader's registry)."""
        return KINDS[self.kind]

    def steps(self, config: Any) -> int:
        """The run's length in steps."""
        return int(_get(config, self.steps_key))

    def seed(self, config: Any) -> int:
        """The run's seed."""
        return int(_get(config, self.seed_key))

    def with_steps(self, config: Any, steps: int) -> Any:
        """``config`` with another length."""
        return _set(config, self.steps_key, steps)

    def with_seed(self, config: Any, seed: int) -> Any:
        """``config`` with another seed."""
        return _set(config, self.seed_key, seed)

    def check_memory(self, config: Any, where: str) -> None:
        """Refuse a config whose tensors would not fit the memory budget (``CPPNART_MAX_MEMORY``),
        before torch allocates them."""
        if self.memory is not None:
            from ..io.budget import check_budget

            check_budget(f"{where}: training {config.name}", memory=self.memory(config))

    def run_files(self, out: Path) -> dict[str, Path]:
        """The files of a finished run in ``out``, by name."""
        return {name: Path(out) / file for name, file in self.files}


def _get(config: Any, key: Key) -> Any:
    table, name = key
    return getattr(getattr(config, table) if table else config, name)


def _set(config: Any, key: Key, value: Any) -> Any:
    table, name = key
    if table is None:
        return dataclasses.replace(config, **{name: value})
    return dataclasses.replace(config, **{table: dataclasses.replace(getattr(config, table), **{name: value})})


def _steps_line(config: Any, start: int) -> str:
    return f"steps {start} -> {FAMILIES[config.kind].steps(config)}"


def _device_words(device: str) -> str:
    from .device import choose_device, describe_device

    return describe_device(choose_device(device))


def trained_for(result: Any) -> str:
    """'N steps in S s', the start of most families' closing line."""
    return f"{result.steps} steps in {result.seconds:.0f} s"


# --- glyph --------------------------------------------------------------------------------------
def _no_inputs(config: Any, source: Any = None, **_: Any) -> None:
    return None


def _train_glyph(config: Any, inputs: None, out: Path, *, device: str, payload: Any, callbacks: Any) -> Any:
    from .glyph import train_glyph

    return train_glyph(config, out, payload=payload, device=device, callbacks=callbacks)


def _glyph_scores(result: Any) -> dict[str, float]:
    return {"r2": result.final.r2, "cosine": result.final.cosine} if result.final else {}


def _glyph_banner(config: Any, inputs: None, device: str, start: int) -> str:
    return (
        f"training {config.name}: message {config.message_size}, {config.generator.type} generator, "
        f"{config.image_size}x{config.image_size}x{config.channels}, {config.train.describe_lr()}, on "
        f"{_device_words(device)}" + (f", resuming at step {start}" if start else "")
    )


def _glyph_report(result: Any, inputs: None, out: Path, start: int) -> str:
    if result.steps == start:
        done = f"already at step {start}; nothing to train (ask for more steps to go on)"
    else:
        done = f"trained to step {result.steps} in {result.seconds:.0f} s ({result.steps_per_second:.1f} steps/s)"
        if result.final:
            done += f", R² {result.final.r2:.3f}, cosine {result.final.cosine:.3f}"
    return f"{done}\nmodel: {result.model}  sheet: {out / 'sheet.png'}"


# --- data-set families (ganvae, classifier) ------------------------------------------------------
def _data_source(source: str | None, payload: dict[str, Any] | None) -> str:
    """The data a run trains on: the one given, else (on --resume) the run's own, else the digits."""
    if source is None and payload is not None:
        source = payload["extra"].get("data")
    return source or "builtin:digits"


def _data_banner(config: Any, images: Any, device: str, start: int) -> str:
    return (
        f"{config.name}: {len(images.images)} images from {images.source} · {_device_words(device)} · "
        + _steps_line(config, start)
    )


def _load_ganvae(config: Any, source: str | None, *, out: Path, payload: Any, resize: bool = False) -> Any:
    from .ganvae import load_training_images

    return load_training_images(_data_source(source, payload), config, resize)


def _train_ganvae(config: Any, images: Any, out: Path, *, device: str, payload: Any, callbacks: Any) -> Any:
    from .device import choose_device
    from .ganvae import train_ganvae

    return train_ganvae(config, images, out, device=choose_device(device), payload=payload, callbacks=callbacks)


def _ganvae_report(result: Any, images: Any, out: Path, start: int) -> str:
    return (
        f"{trained_for(result)} · reconstruction MSE {result.recon_mse:.4f} "
        f"(untrained {result.recon_mse_untrained:.4f}) -> {out / 'model.onnx'}"
    )


def _load_classifier(config: Any, source: str | None, *, out: Path, payload: Any, resize: bool = False) -> Any:
    from .classifier import load_labelled_images

    return load_labelled_images(_data_source(source, payload), config)


def _train_classifier(config: Any, images: Any, out: Path, *, device: str, payload: Any, callbacks: Any) -> Any:
    from .classifier import train_classifier
    from .device import choose_device

    return train_classifier(config, images, out, device=choose_device(device), payload=payload, callbacks=callbacks)


def _classifier_report(result: Any, images: Any, out: Path, start: int) -> str:
    return (
        f"{trained_for(result)} · held-out accuracy {result.accuracy:.4f} on {result.holdout} images "
        f"(untrained {result.accuracy_untrained:.4f}) -> {out / 'classifier.onnx'}"
    )


# --- fit ----------------------------------------------------------------------------------------
def _load_fit(
    config: Any, source: str | None, *, out: Path, payload: Any, resize: bool = False, init: str | None = None
) -> Any:
    """The image to fit; with ``init`` (a bred picture's genome) kept in the run as its start."""
    from .fit import fit_target, start_genome

    genome = start_genome(init, out, payload)
    return fit_target(config, source, out, genome.channels if genome is not None else None)


def _train_fit(config: Any, target: Any, out: Path, *, device: str, payload: Any, callbacks: Any) -> Any:
    from .device import choose_device
    from .fit import fit_image, run_genome

    genome = run_genome(out)  # a run started --init from a genome fits that genome's weights
    return fit_image(
        config, target, out, device=choose_device(device), payload=payload, callbacks=callbacks, genome=genome
    )


def _fit_report(result: Any, target: Any, out: Path, start: int) -> str:
    h, w = target.shape[:2]
    return f"{trained_for(result)} · PSNR {result.psnr:.2f} dB at {w}x{h} -> {out / 'model.onnx'}, {out / 'render.png'}"


FAMILIES: dict[str, Family] = {
    family.kind: family
    for family in (
        Family(
            kind="glyph",
            default_preset="glyph-quick",
            steps_key=("train", "steps"),
            seed_key=("train", "seed"),
            source=None,
            load=_no_inputs,
            train=_train_glyph,
            scores=_glyph_scores,
            score=("r2", True),
            files=(("model", "model.onnx"), ("sheet", "sheet.png")),
            report=_glyph_report,
            banner=_glyph_banner,
        ),
        Family(
            kind="ganvae",
            default_preset="ganvae-digits",
            steps_key=("schedule", "steps"),
            seed_key=(None, "seed"),
            source="data",
            load=_load_ganvae,
            train=_train_ganvae,
            scores=lambda r: {"recon_mse": r.recon_mse, "recon_mse_untrained": r.recon_mse_untrained},
            score=("recon_mse", False),
            files=(("model", "model.onnx"),),
            report=_ganvae_report,
            banner=_data_banner,
        ),
        Family(
            kind="fit",
            default_preset="fit",
            steps_key=(None, "steps"),
            seed_key=(None, "seed"),
            source="image",
            load=_load_fit,
            train=_train_fit,
            scores=lambda r: {"psnr": r.psnr, **({"psnr_start": r.psnr_start} if r.psnr_start is not None else {})},
            score=("psnr", True),
            files=(("model", "model.onnx"), ("render", "render.png")),
            report=_fit_report,
        ),
        Family(
            kind="classifier",
            default_preset="classifier-digits",
            steps_key=(None, "steps"),
            seed_key=(None, "seed"),
            source="data",
            load=_load_classifier,
            train=_train_classifier,
            scores=lambda r: {"accuracy": r.accuracy, "accuracy_untrained": r.accuracy_untrained, "holdout": r.holdout},
            score=("accuracy", True),
            files=(("model", "classifier.onnx"),),
            report=_classifier_report,
            banner=_data_banner,
            memory=lambda config: config.memory_bytes(),
        ),
    )
}


def total_steps(config: Any) -> int:
    """The step a run of ``config`` trains to (its family knows where the config keeps it)."""
    return FAMILIES[config.kind].steps(config)


def family_for(config_class: type) -> Family:
    """The family whose config dataclass is ``config_class``."""
    for family in FAMILIES.values():
        if family.config is config_class:
            return family
    raise KeyError(f"no training family has the config class {config_class.__name__}")
