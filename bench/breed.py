"""Breeding speed, and what a genome costs to render against a preset of the same cost.

1. the breeding page's click: a new generation of 16 children (``render.breeding`` pick) and its 16
   server frames at 128x128, each child compiled to ONNX and encoded as PNG as ``/api/breed/frame``
   does, from a Picbreeder-sized genome and from `classic`'s genome;
   one generation of 16 children (mutate, crossover, score novelty) at 128x128, the breeding page's
   size, from a Picbreeder-sized genome and from the `classic` preset's genome; and 16 children
   drawn at 128x128 through ONNX (server frames);
2. a 23-node genome (the skull when ../shared has it, else a random genome grown to 23 nodes)
   rendered at 2880x1800 against a layered preset of about the same multiply-adds (width 4,
   depth 3: 65 against the skull's 57), and the `classic` preset against its own genome (the
   cost of the layerised graph against the preset's own): ratios, one process, best of N;
3. the skull rendered at 256x256 against its reference render (when ../shared has it):
   correlation and mean absolute difference, with cppnart's pixel centres and with the
   reference's own grid (x, y = linspace(-1, 1, 256): zoom 255/256 puts the centres there).

    python bench/breed.py [--repeat 3] [--res 2880x1800]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cppnart.configs.cppn import CPPNConfig
from cppnart.graph.evolve import mutate, random_genome
from cppnart.graph.genome import Genome
from cppnart.render.breed import BreedSettings, genome_of_model, next_generation, render_genome, start_breeding
from cppnart.render.model import load_model, model_from_config, model_from_genome

SKULL = Path(__file__).resolve().parents[2] / "shared" / "picbreeder" / "skull.zip"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def genome_23() -> tuple[Genome, str]:
    if SKULL.is_file():
        from cppnart.graph.picbreeder import read_picbreeder

        return read_picbreeder(SKULL), "skull (23 nodes, 57 links)"
    rng = np.random.default_rng(0)
    g = random_genome(rng, "grey", hidden=6, links=20)
    while len(g.nodes) < 23:
        g = mutate(g, rng, "structure")
    return g, f"random genome ({len(g.nodes)} nodes, {len(g.links)} links)"


def generation_times(parent: Genome, label: str, repeat: int) -> None:
    state = start_breeding(parent, BreedSettings(seed=1, population=16, size=128))
    seconds = best(lambda: next_generation(state), repeat)
    frames = best(lambda: [render_genome(g, 128, 128) for g in state.population], repeat)
    print(f"{label:38s} generation of 16 at 128x128 {seconds * 1000:7.0f} ms · 16 ONNX frames {frames * 1000:6.0f} ms")


def page_generation_times(parent: Genome, label: str, repeat: int, cell: int = 128) -> None:
    """What a click on the breeding page costs the server: the pick, then 16 frames (server frames)."""
    from cppnart.configs.view import View
    from cppnart.render.breeding import child_model, start_session
    from cppnart.view.frames import frame_png

    session = start_session(parent, seed=1)

    def click() -> None:
        session.undo() if session.can_undo else None
        session.pick([0])

    def frames() -> None:
        for i in range(16):
            model = child_model(session, None, i)
            frame_png(model, model.sample_z(0), cell, cell, View())

    pick = best(click, repeat)
    drawn = best(frames, repeat)
    print(
        f"{label:38s} page click: new generation {pick * 1000:6.0f} ms + 16 server frames at {cell}x{cell} "
        f"{drawn * 1000:6.0f} ms = {(pick + drawn) * 1000:6.0f} ms"
    )


def render_time(model, width: int, height: int, repeat: int) -> float:
    model.render(None, 64, 64)  # session built, outside the timing
    return best(lambda: model.render(None, width, height), repeat)


def skull_against_reference() -> None:
    from PIL import Image

    from cppnart.configs.view import View
    from cppnart.graph.picbreeder import read_picbreeder

    reference = SKULL.with_name("skull-reference.png")
    if not reference.is_file():
        print("skull reference: ../shared/picbreeder not here, skipped")
        return
    ref = np.asarray(Image.open(reference).convert("L"), np.float64) / 255
    genome = read_picbreeder(SKULL)
    model = model_from_genome(genome, str(SKULL))
    from cppnart.graph.genome import evaluate
    from cppnart.render.coords import grid

    onnx_pixels = model.render(None, 256, 256).reshape(-1)
    numpy_pixels = evaluate(genome, grid(256, 256))[0].reshape(-1)
    print(f"skull 256x256, ONNX against the numpy reference: max |diff| {np.abs(onnx_pixels - numpy_pixels).max():.2e}")
    for label, view in [("pixel centres", View()), ("the reference's grid", View(zoom=255 / 256))]:
        ours = np.asarray(model.render_image(None, 256, 256, view=view).convert("L"), np.float64) / 255
        corr = np.corrcoef(ours.ravel(), ref.ravel())[0, 1]
        print(
            f"skull 256x256 vs reference, {label}: correlation {corr:.4f}, mean |diff| {np.abs(ours - ref).mean():.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--res", default="2880x1800")
    args = parser.parse_args()
    width, height = (int(v) for v in args.res.lower().split("x"))

    genome, label = genome_23()
    classic = load_model("classic", seed=7)
    page_generation_times(genome, label, args.repeat)
    page_generation_times(genome_of_model(classic, 7), "classic's genome (143 nodes, 3651 links)", args.repeat)
    generation_times(genome, label, args.repeat)
    generation_times(genome_of_model(classic, 7), "classic's genome (143 nodes, 3651 links)", args.repeat)

    small = CPPNConfig(name="w4d3", z_dim=1, channels=1, width=4, depth=3, activations=("tanh", "sin", "tanh"))
    preset = model_from_config(small, 3, "w4d3")
    g_time = render_time(model_from_genome(genome, "genome"), width, height, args.repeat)
    p_time = render_time(preset, width, height, args.repeat)
    print(f"{width}x{height}: {label} {g_time:.3f} s · preset width 4 depth 3 (65 MACs) {p_time:.3f} s · "
          f"ratio {g_time / p_time:.2f}")  # fmt: skip
    c_genome = model_from_genome(genome_of_model(classic, 7), "classic.genome.json")
    c_time = render_time(classic, width, height, args.repeat)
    cg_time = render_time(c_genome, width, height, args.repeat)
    print(f"{width}x{height}: classic {c_time:.3f} s · its genome {cg_time:.3f} s · ratio {cg_time / c_time:.2f}")
    skull_against_reference()


if __name__ == "__main__":
    main()
