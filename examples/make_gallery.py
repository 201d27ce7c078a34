"""Render the README's pictures: one poster-shaped image and a strip of every CPPN preset.

    python examples/make_gallery.py            # writes examples/gallery/*.png

Small on purpose (they are committed); render the same recipes at any size with
`cppnart render --from examples/gallery/hero.png --res 2880x1800`.
"""

from pathlib import Path

from PIL import Image, ImageDraw

import cppnart

HERE = Path(__file__).parent / "gallery"
STRIP = [
    ("classic", 1),
    ("softplus", 2),
    ("sine", 2),
    ("gaussian", 1),
    ("abs", 3),
    ("residual", 2),
    ("grey", 1),
    ("wide", 2),
]


def main() -> None:
    HERE.mkdir(exist_ok=True)
    hero = cppnart.load_model("classic", seed=1)
    cppnart.save_poster(hero, hero.sample_z(1), 720, 450, HERE / "hero.png", supersample=2)

    tile_w, tile_h = 200, 125
    strip = Image.new("RGB", (tile_w * 4, tile_h * 2))
    draw = ImageDraw.Draw(strip)
    for i, (name, seed) in enumerate(STRIP):
        net = cppnart.load_model(name, seed=seed)
        tile = net.render_image(net.sample_z(seed), tile_w, tile_h, supersample=2).convert("RGB")
        x, y = (i % 4) * tile_w, (i // 4) * tile_h
        strip.paste(tile, (x, y))
        draw.text((x + 5, y + tile_h - 15), f"{name} --seed {seed}", fill="white", stroke_width=2, stroke_fill="black")
    strip.save(HERE / "presets.png", optimize=True)
    print("wrote", *sorted(p.name for p in HERE.glob("*.png")))


if __name__ == "__main__":
    main()
