"""A CPPN solution as the file a user renders: a self-describing model.onnx, verified against torch.

A solution started from a genome (``dream --init``) is that genome with optimised weights: its
model.onnx is a genome model (``graph.genome_onnx``), carrying the genome, so it renders, breeds
and morphs as any genome; the run's main solution is also written as ``genome.genome.json``.

Solutions are built in memory first and judged on what onnxruntime draws from those bytes; only
the ones that responded are written (``write_models``), so no file ever holds a failed solution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import UserError
from ..genome_torch import GenomeModule
from ..models.cppn import CPPN, pixel_coords
from .params import CPPNStack, ImageParam
from .settings import DreamSettings


@dataclass(frozen=True)
class Candidate:
    """One solution's torch CPPN (or genome module) and its verified ONNX model, not yet written."""

    index: int
    unit: int
    member: CPPN | GenomeModule
    proto: Any  # onnx.ModelProto


GENOME_FILE = "genome.genome.json"  # a genome-started run's main solution, as a genome file


def solution_model(member: CPPN | GenomeModule, settings: DreamSettings, extra: dict[str, str]) -> Any:
    """The self-describing ONNX model of one solution: a CPPN model of kind dream, or a genome
    model (the genome with the optimised weights) that carries the dream's settings besides."""
    from ...graph.export import cppn_model, model_proto

    config = {**asdict(settings), "units": [int(extra["unit"])], "target": extra["target"]}
    if isinstance(member, GenomeModule):
        from ...graph.genome_onnx import genome_graph, genome_metadata

        genome = member.to_genome()
        return model_proto(genome_graph(genome), {**genome_metadata(genome, "dream"), "config": config, **extra})
    return cppn_model(member.to_weights(), preset="dream", seed=settings.seed, config=config, kind="dream", extra=extra)


def candidates(
    stack: CPPNStack, settings: DreamSettings, source: str, units: list[int], keep: list[bool]
) -> dict[int, Candidate]:
    """Every kept solution as a ``model.onnx`` in memory (verified against torch at the optimisation size)."""
    from ..onnx_export import verify_onnx

    found: dict[int, Candidate] = {}
    coords = pixel_coords(stack.width, stack.height)
    for i, unit in enumerate(units):
        if not keep[i]:
            continue
        member = stack.member(i)
        assert isinstance(member, (CPPN, GenomeModule))
        extra = {"train_size": f"{stack.width}x{stack.height}", "target": source, "layer": settings.layer}
        proto = solution_model(member, settings, {**extra, "unit": str(unit)})
        z = torch.zeros(1, 1)
        if isinstance(member, GenomeModule):
            z = torch.tensor([list(member.genome.z or [0.0] * member.genome.z_dim)])
        try:
            verify_onnx(proto, member, {"coords": coords, "z": z})
        except RuntimeError as exc:  # sin of huge pre-activations: float32 rounding differs between the two
            raise UserError(
                f"solution {i}'s CPPN grew weights so large that onnxruntime draws it differently from torch "
                f"({exc}); ask for a smaller lr than {settings.lr:g}"
            ) from None
        found[i] = Candidate(i, unit, member, proto)
    return found


def final_images(param: ImageParam, found: dict[int, Candidate]) -> np.ndarray:
    """The final images [N, C, H, W], float32: drawn by onnxruntime from each candidate's bytes
    where there is one (what `cppnart render` will draw), else from the parameterisation."""
    with torch.no_grad():
        images = param.images().detach().cpu().numpy().astype(np.float32)
    if found and isinstance(param, CPPNStack):
        from ...render.model import Model

        for i, candidate in found.items():
            metadata = {p.key: p.value for p in candidate.proto.metadata_props}
            net = Model(candidate.proto.SerializeToString(), metadata, "dream", "cpu")
            z = np.zeros((1, net.z_dim), np.float32)
            if isinstance(candidate.member, GenomeModule):  # a genome draws at its own z
                z[0, : candidate.member.genome.z_inputs] = candidate.member.genome.z or 0.0
            images[i] = net.render(z, param.width, param.height).transpose(2, 0, 1)
    return images


def model_path(out: Path, index: int, unit: int, batch: int, many_units: bool) -> Path:
    """Where solution ``index`` goes: channels/cNNN[-k].onnx in a run of several units, else
    model.onnx (one solution) or solutions/sNN.onnx (a batch; the best is model.onnx as well)."""
    if many_units:
        return out / "channels" / f"c{unit:03d}{'' if batch == 1 else f'-{index % batch}'}.onnx"
    return out / ("model.onnx" if batch == 1 else f"solutions/s{index:02d}.onnx")


def save_main(out: Path, candidate: Candidate) -> Path:
    """The run's main model: model.onnx and the arrays `morph` mixes (weights.npz), or for a
    genome-started run the genome file that breeds further (genome.genome.json)."""
    from ...graph.export import save_model

    path = save_model(candidate.proto, out / "model.onnx")
    if isinstance(candidate.member, GenomeModule):
        from ...graph.genome import write_genome

        write_genome(candidate.member.to_genome(), out / GENOME_FILE)
    else:
        from ...graph.weights import save_weights

        save_weights(candidate.member.to_weights(), out / "weights.npz")
    return path
