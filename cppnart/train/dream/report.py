"""report.json and the one-line summary of a dream run: what each solution did, measured honestly.

A solution *responded* when its objective, measured on what the user gets (the model.onnx drawn
by onnxruntime for ``cppn``), beats where it started; one that fell below its start is reported
as "fell", one whose unit no probe start moved off zero as "dead". A batch counts only the
solutions that rose, and the run's main model is the best of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ..targets import Target
from .climb import Stop, Trace
from .objectives import Goal
from .pictures import DEAD, FELL, ROSE
from .settings import DreamSettings

RESPONSE_EPS = 1e-6
RANKED_IMAGES = 2000  # real images an activation is ranked among (enough for a 99th percentile)


def alive(pool_values: torch.Tensor) -> list[bool]:
    """Per solution: some probe start moved its unit off zero (a dead ReLU stays at exactly 0),
    and not every start gave the same value. ``pool_values``: [P, N] objectives of the starts."""
    spread = (pool_values.max(0).values - pool_values.min(0).values).abs()
    return ((pool_values.abs().max(0).values > RESPONSE_EPS) & (spread > RESPONSE_EPS)).tolist()


def outcomes(live: list[bool], start: torch.Tensor, final: torch.Tensor) -> list[str]:
    """Each solution's outcome: dead, rose (its objective beats its start) or fell."""
    return [
        DEAD if not ok else ROSE if float(final[i]) > float(start[i]) + RESPONSE_EPS else FELL
        for i, ok in enumerate(live)
    ]


def best_of(outcome: list[str], final: torch.Tensor) -> int | None:
    """The solution with the highest final objective among those that rose (None if none did)."""
    rose = [i for i, o in enumerate(outcome) if o == ROSE]
    return max(rose, key=lambda i: float(final[i])) if rose else None


@dataclass(frozen=True)
class Measured:
    """What a run measured of each of its N solutions, in the objective's direction."""

    units: list[int]  # the unit of every solution
    batch: int  # solutions per unit
    pool_values: torch.Tensor  # [P, N] of the probe starts
    start_values: torch.Tensor  # [N] where the optimisation started
    final_values: torch.Tensor  # [N] of what the user gets (model.onnx through onnxruntime for cppn)
    outcomes: list[str]  # dead, rose or fell
    models: list[Path | None]  # each solution's model file, None when not written
    best: int | None  # the main model's solution (runs of one unit)

    @property
    def responded(self) -> list[bool]:
        """Per solution: it rose."""
        return [o == ROSE for o in self.outcomes]


def real_table(target: Target, goal: Goal, device: torch.device) -> torch.Tensor | None:
    """[M, N]: every real image's objective for every solution's unit (None without real data)."""
    if target.data is None:
        return None
    layers = sorted(goal.layers)
    with torch.no_grad():
        return torch.cat(
            [
                goal.goal.table({name: target.run(x.to(device), name) for name in layers})
                for x in torch.from_numpy(target.data[:RANKED_IMAGES]).split(500)
            ]
        )


def top_examples(target: Target, real: torch.Tensor | None, k: int, sign: float) -> list[list[dict[str, Any]]]:
    """Per solution, the ``k`` real images that excite its unit most (in the objective's
    direction): their index in the data, the unit's value and the label where known."""
    if real is None or k == 0:
        return [[] for _ in range(0 if real is None else real.shape[1])]
    values, index = real.topk(min(k, real.shape[0]), dim=0)  # [k, N]
    labels = target.labels
    return [
        [
            {
                "index": int(index[j, i]),
                "activation": sign * float(values[j, i]),
                "label": None if labels is None else int(labels[int(index[j, i])]),
            }
            for j in range(index.shape[0])
        ]
        for i in range(real.shape[1])
    ]


def percentile_among(real: torch.Tensor | None, values: torch.Tensor) -> list[dict[str, float] | None]:
    """Where each final objective ranks among the target's real images (percent beaten, in the
    objective's direction), and the 99th percentile of the real objectives."""
    if real is None:
        return [None] * len(values)
    return [
        {
            "percentile": float((real[:, i] < values[i]).float().mean() * 100),  # beaten, in the objective's direction
            "p99": float(torch.quantile(real[:, i], 0.99)),
        }
        for i in range(len(values))
    ]


def build_report(
    target: Target, settings: DreamSettings, goal: Goal, measured: Measured, trace: Trace, stop: Stop, out: Path | None
) -> dict[str, Any]:
    """report.json: the settings, the run's trace and each solution's activations and rank among real data."""
    sign = settings.sign  # objectives -> the units' own values, here only
    real = real_table(target, goal, measured.final_values.device)
    ranks = percentile_among(real, measured.final_values)
    examples = top_examples(target, real, settings.examples, sign)
    solutions = []
    for i, (unit, model) in enumerate(zip(measured.units, measured.models)):
        rank = ranks[i]
        solutions.append(
            {
                "unit": unit,
                "name": target.unit_name(settings.layer, unit),
                "responded": measured.outcomes[i] == ROSE,
                "outcome": measured.outcomes[i],
                "start_activation": sign * float(measured.start_values[i]),
                "final_activation": sign * float(measured.final_values[i]),
                "probe_best": sign * float(measured.pool_values[:, i].max()),
                "probe_all_zero": bool(measured.pool_values[:, i].abs().max() <= RESPONSE_EPS),
                "data_percentile": None if rank is None else rank["percentile"],
                "data_p99": None if rank is None else sign * rank["p99"],
                "model": None if model is None or out is None else str(Path(model).relative_to(out)),
                **({"examples": examples[i]} if settings.examples and real is not None else {}),
            }
        )
    responded = measured.responded
    return {
        "target": target.source,
        "target_kind": target.kind,
        "data": target.data_source,
        "layer": settings.layer,
        "objective": ("minimise " if settings.minimise else "maximise ")
        + ("neuron" if settings.neuron is not None else "unit mean"),
        "settings": asdict(settings),
        "batch": measured.batch,
        "responded": all(responded) if len(responded) == 1 else sum(responded),
        "best": measured.best,
        "stop": stop.reason,
        "steps_run": trace.stopped,
        "seconds": round(trace.seconds, 2),
        "loss_by_step": [-v for v in trace.by_step],
        "objective_at_log_steps": {str(k): v for k, v in trace.logged.items()},
        "solutions": solutions,
    }


def summary_line(report: dict[str, Any], out: Path | None) -> str:
    """One line for people: a single solution's activations and files, or a batch's honest count."""
    sols, layer, where = report["solutions"], report["layer"], out or Path(".")
    if len(sols) > 1:
        fell = [f"{i} ({s['start_activation']:.3g} -> {s['final_activation']:.3g})" for i, s in enumerate(sols)]
        fell = [text for text, s in zip(fell, sols) if s["outcome"] == FELL]
        main = (
            f"; the best, solution {report['best']}, is {where / 'model.onnx'}"
            if report.get("best") is not None
            else ""
        )
        return (
            f"{report['responded']} of {len(sols)} solutions responded in {report['seconds']:.0f} s"
            + (f"; fell below their start: {', '.join(fell)}" if fell else "")
            + f"{main} -> {where / 'sheet.png'}, {where / 'report.json'}"
        )
    s = sols[0]
    if s["outcome"] == DEAD:
        return (
            f"unit {s['unit']} of {layer} never responded: its activation stayed at {s['final_activation']:.3g} "
            f"over {report['settings']['probe']} probe starts (best {s['probe_best']:.3g}); no picture written -> "
            f"{where / 'report.json'}"
        )
    if s["outcome"] == FELL:
        return (
            f"{layer} unit {s['unit']} did not respond: its objective fell from its start "
            f"(activation {s['start_activation']:.3g} -> {s['final_activation']:.3g}); no picture written -> "
            f"{where / 'report.json'}"
        )
    rank = "" if s["data_percentile"] is None else f", beyond {s['data_percentile']:.1f}% of held-out images"
    what = "model.onnx" if s["model"] else "image.png"
    named = f" ({s['name']})" if s.get("name") else ""
    return (
        f"{layer} unit {s['unit']}{named}: activation {s['start_activation']:.3g} -> "
        f"{s['final_activation']:.3g}{rank} in {report['seconds']:.0f} s -> {where / what}, progress.png"
    )
