"""How should a morph become a GIF? Measure palette strategies against the source frames.

Renders a smooth morph (classic preset, three keyframes, slerp + smooth easing), writes it with
every strategy GifWriter knows, decodes each GIF with Pillow and compares to the float source:

- rmse: colour error per pixel, 8-bit levels;
- lowfreq: rmse after a 4x4 box blur of both, i.e. what is left when the eye averages dither
  noise away: large values mean visible banding / colour shifts;
- flicker: mean |(g[t]-g[t-1]) - (s[t]-s[t-1])|, the frame-to-frame change the GIF adds that
  the source does not have: crawling dither and palette switching both show up here;
- static: mean |g[t]-g[t-1]| where the source changes by less than one level: pure flicker;
- size and encode time.

    python bench/gif_palette.py [--res 256] [--frames 48] [--preset classic]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from cppnart.io.animation import GIF_STRATEGIES, GifWriter, palette_from
from cppnart.latent.paths import plan_path
from cppnart.render.frames import render_frames
from cppnart.render.model import load_model


def decode(path: Path) -> np.ndarray:
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB"), dtype=np.float32))
    return np.stack(frames)


def blur4(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    h4, w4 = h // 4 * 4, w // 4 * 4
    return x[:, :h4, :w4].reshape(n, h4 // 4, 4, w4 // 4, 4, c).mean(axis=(2, 4))


def measure(source: np.ndarray, gif: np.ndarray) -> dict[str, float]:
    err = gif - source
    temporal = np.diff(gif, axis=0) - np.diff(source, axis=0)
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "lowfreq": float(np.sqrt(np.mean((blur4(gif) - blur4(source)) ** 2))),
        "flicker": float(np.mean(np.abs(temporal))),
        # Where the source holds still (< 1 level), any change in the GIF is pure flicker.
        "static": float(np.abs(np.diff(gif, axis=0))[still].mean())
        if (still := (np.abs(np.diff(source, axis=0)).max(axis=-1, keepdims=True) < 1.0).repeat(3, axis=-1)).any()
        else 0.0,
        "flicker_lf": float(np.mean(np.abs(np.diff(blur4(gif), axis=0) - np.diff(blur4(source), axis=0)))),
    }


def report(label: str, m: dict[str, float], path: Path, elapsed: float) -> None:
    print(
        f"{label:<30}{m['rmse']:7.2f}{m['lowfreq']:8.2f}{m['flicker']:8.2f}{m['flicker_lf']:9.2f}{m['static']:7.2f}"
        f"{path.stat().st_size / 1024:7.0f}{elapsed:6.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--res", type=int, default=256)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--preset", default="classic")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    model = load_model(args.preset, args.seed, "cpu")
    keys = model.sample_z(args.seed, 3)
    latents = plan_path(keys, args.frames // 3, loop=True, easing="smooth", path="slerp")
    size = args.res
    source_u8 = np.stack(list(render_frames(model, latents, model.canvas(size, size))))
    source = source_u8.astype(np.float32)
    if source.shape[-1] == 1:
        source = np.repeat(source, 3, axis=-1)
    # The shared palette comes from small renders along the path, as `cppnart morph` does it.
    sample = list(render_frames(model, latents[:: max(1, len(latents) // 16)], model.canvas(96, 96)))
    palettes = {"octree": palette_from(sample, method="octree"), "kmeans": palette_from(sample, method="kmeans")}

    print(f"{args.preset} seed {args.seed}: {len(latents)} frames {size}x{size}")
    print(f"{'strategy':<30}{'rmse':>7}{'lowfreq':>8}{'flicker':>8}{'flick_lf':>9}{'static':>7}{'KiB':>7}{'s':>6}")
    runs = [(s, {}) for s in GIF_STRATEGIES]
    runs += [("per-frame", {"per_frame_method": "mediancut"})]
    runs += [(s, {"amplitude": a}) for s in ("global-ordered", "per-frame-ordered") for a in (6.0, 20.0)]
    runs += [(s, {"palette": "kmeans"}) for s in ("global", "global-ordered")]
    with tempfile.TemporaryDirectory() as tmp:
        for strategy, options in runs:
            options = dict(options)
            palette_method = options.pop("palette", "octree")
            path = Path(tmp) / f"{strategy}.gif"
            started = time.perf_counter()
            writer = GifWriter(
                path, size, size, 25, source_u8.shape[-1], True, strategy, palettes[palette_method], **options
            )
            for frame in source_u8:
                writer.add(frame)
            writer.finish()
            elapsed = time.perf_counter() - started
            label = " ".join(
                [strategy]
                + [f"{k}={v}" for k, v in options.items()]
                + ([f"palette={palette_method}"] if strategy.startswith("global") else [])
            )
            report(label, measure(source, decode(path)), path, elapsed)
        # Pillow's own save (a palette per frame, its defaults) as the baseline of our earlier measurements.
        path = Path(tmp) / "pillow.gif"
        started = time.perf_counter()
        images = [Image.fromarray(f if f.shape[-1] == 3 else f[..., 0]) for f in source_u8]
        images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0)
        elapsed = time.perf_counter() - started
        m = measure(source, decode(path))
        report("pillow default save", m, path, elapsed)


if __name__ == "__main__":
    main()
