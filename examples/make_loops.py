"""Render the README's loop and tiled wallpaper (small on purpose: they are committed).

    python examples/make_loops.py      # writes examples/gallery/loop.webp and tile-mosaic.png

The loop is `cppnart loop classic --seed 4 --seconds 4 --fps 15 --res 160x160 --tile -o loop.webp`;
the wallpaper is one `cppnart render sine --seed 2 --res 200x200 --tile` pasted 3 x 3.
"""

from pathlib import Path

import numpy as np
from PIL import Image

import cppnart

HERE = Path(__file__).parent / "gallery"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    loop = cppnart.resolve_loop("classic", seed=4, seconds=4, fps=15, res=(160, 160), tile=True)
    cppnart.save_loop(loop, HERE / "loop.webp", force=True)
    tile = cppnart.resolve_picture("sine", seed=2, res=(200, 200), supersample=2, tile=True)
    path = cppnart.save_poster(tile, path=HERE / "tile.png", force=True)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    Image.fromarray(np.tile(pixels, (3, 3, 1))).save(HERE / "tile-mosaic.png", optimize=True)
    print("wrote loop.webp, tile.png (one tile, with its recipe) and tile-mosaic.png")


if __name__ == "__main__":
    main()
