"""Drawing benchmark: pen-up travel in the traced order against after vpype's merge and
nearest-neighbour ordering, for each style, and a chunked trace (the render's own bands) against
a whole one (every row in one band): same SVG bytes, time and peak RSS of each, one run.

    python bench/draw.py              # classic seed 7 on A4 at 4 samples/mm (~1 minute on 2 cores)
    python bench/draw.py --paper A3
"""

from __future__ import annotations

import dataclasses
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    """Pen-up travel per style, then chunked against whole traces."""
    from cppnart.render.draw import resolve_drawing, save_drawing

    args = sys.argv[1:]
    paper = args[args.index("--paper") + 1] if "--paper" in args else "A4"
    folder = Path(tempfile.mkdtemp())
    print(f"classic seed 7 on {paper}")
    print(f"{'style':<10}{'lines':>8}{'pen down m':>12}{'pen up before m':>17}{'after m':>9}{'ratio':>8}{'s':>7}")
    for style in ("contours", "hatch", "flow"):
        request = resolve_drawing("classic", seed=7, style=style, paper=paper, levels=6, spacing_mm=1.0)
        started = time.perf_counter()
        r = save_drawing(request, folder / f"{style}.svg")
        seconds = time.perf_counter() - started
        print(
            f"{style:<10}{r.lines:>8}{r.pen_down_mm / 1000:>12.1f}{r.pen_up_before_mm / 1000:>17.1f}"
            f"{r.pen_up_after_mm / 1000:>9.1f}{r.travel_ratio:>8.3f}{seconds:>7.1f}"
        )
    request = resolve_drawing("classic", seed=7, style="contours", paper=paper, levels=6)
    digests = {}
    for name, rows in (("chunked", None), ("whole", 10**7)):
        started = time.perf_counter()
        path = save_drawing(dataclasses.replace(request, band_rows=rows), folder / f"{name}.svg").path
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{name} trace: {time.perf_counter() - started:.1f} s, sha256 {digests[name]}, peak RSS so far {rss:.0f} MB"
        )
    print("same SVG" if len(set(digests.values())) == 1 else "DIFFERENT SVGs")


if __name__ == "__main__":
    main()
