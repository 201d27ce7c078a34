"""`cppnart draw`: plotter SVGs read back by second readers (svgelements, cairosvg's renderer)."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from cppnart.cli import app

from ..conftest import files_in, one_error_line

pytest.importorskip("skimage")
pytest.importorskip("vpype")
from cppnart.render.draw import resolve_drawing, save_drawing

INKSCAPE = "{http://www.inkscape.org/namespaces/inkscape}"


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def small(style: str = "contours", **kw):
    return resolve_drawing("classic", seed=7, style=style, paper="60x80mm", margin_mm=5.0, **kw)


@pytest.mark.parametrize("style", ["contours", "hatch", "flow"])
def test_every_style_parses_with_svgelements_inside_the_margins_in_inkscape_layers(tmp_path, style):
    svgelements = pytest.importorskip("svgelements")
    result = save_drawing(small(style, levels=3, spacing_mm=1.0), tmp_path / "d.svg")
    root = ET.parse(result.path).getroot()
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("60mm", "80mm", "0 0 60 80")
    layers = [g for g in root if g.get(f"{INKSCAPE}groupmode") == "layer"]
    assert len(layers) == result.layers == 1 and layers[0].get(f"{INKSCAPE}label").startswith("1 ")
    svg = svgelements.SVG.parse(str(result.path), ppi=25.4)  # 1 user unit = 1 mm
    paths = [e for e in svg.elements() if isinstance(e, svgelements.Path)]
    assert len(paths) == result.lines > 10
    for path in paths:
        x0, y0, x1, y1 = path.bbox()
        assert x0 >= 5.0 and x1 <= 55.0 and y0 >= 5.0 and y1 <= 75.0, path.bbox()


def test_per_channel_contours_are_three_pen_layers(tmp_path):
    result = save_drawing(small(levels=2, per_channel=True), tmp_path / "rgb.svg")
    labels = [g.get(f"{INKSCAPE}label") for g in ET.parse(result.path).getroot() if g.tag.endswith("g")]
    assert labels == ["1 red", "2 green", "3 blue"]


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    padded = np.pad(mask, r)
    h, w = mask.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= padded[r + dy : r + dy + h, r + dx : r + dx + w]
    return out


def test_contours_agree_with_the_thresholded_render_rasterised_by_cairosvg(tmp_path):
    """The level-0.5 contour, drawn by a real SVG renderer, lies on the edge of the render's
    threshold mask: IoU of the two edge sets (each widened by 2 px) is reported and above 0.6."""
    cairosvg = pytest.importorskip("cairosvg")
    from PIL import Image

    request = small(levels=1)
    save_drawing(request, tmp_path / "c.svg")
    pic = request.picture
    image = pic.model.render(pic.z, pic.width, pic.height)
    bright = image @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    mask = bright > 0.5
    edge = np.zeros_like(mask)
    edge[:-1] |= mask[:-1] != mask[1:]
    edge[:, :-1] |= mask[:, :-1] != mask[:, 1:]
    png = tmp_path / "c.png"
    cairosvg.svg2png(url=str(tmp_path / "c.svg"), write_to=str(png), output_width=60 * 4, output_height=80 * 4)
    ink = np.asarray(Image.open(png))[..., 3] > 64  # alpha: the strokes on a transparent page
    drawn = ink[20 : 20 + pic.height, 20 : 20 + pic.width]  # the 5 mm margin at 4 px/mm
    a, b = _dilate(drawn, 2), _dilate(edge, 2)
    iou = (a & b).sum() / (a | b).sum()
    print(f"contour vs raster edge IoU: {iou:.3f}")
    assert edge.sum() > 100 and iou > 0.6


@pytest.mark.parametrize("style", ["contours", "hatch"])
def test_ordering_cuts_pen_up_travel(tmp_path, style):
    result = save_drawing(small(style, levels=3), tmp_path / "d.svg")
    print(
        f"{style}: pen-up {result.pen_up_before_mm:.0f} -> {result.pen_up_after_mm:.0f} mm, "
        f"ratio {result.travel_ratio:.3f}"
    )
    assert result.travel_ratio < 0.7


@pytest.mark.parametrize("rows", [7, 50])
def test_a_chunked_trace_draws_the_same_svg_as_a_whole_one(tmp_path, rows):
    request = small(levels=4)
    whole = save_drawing(dataclasses.replace(request, band_rows=10**6), tmp_path / "whole.svg").path
    chunked = save_drawing(dataclasses.replace(request, band_rows=rows), tmp_path / "chunked.svg").path
    assert whole.read_bytes() == chunked.read_bytes()


def test_cli_draw_info_and_from_round_trip(runner, tmp_path):
    out = tmp_path / "a.svg"
    result = run(
        runner, "draw", "classic", "--seed", 3, "--paper", "50x50mm", "--margin", 5, "--levels", 3, "-o", out, "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["path"] == str(out) and data["lines"] > 0 and data["pen_up_after_mm"] <= data["pen_up_before_mm"]
    shown = json.loads(run(runner, "info", out, "--json").output)
    assert shown["seed"] == 3 and shown["drawing"]["levels"] == 3 and shown["drawing"]["paper"] == [50.0, 50.0]
    again = tmp_path / "b.svg"
    assert run(runner, "draw", "--from", out, "-o", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_a_trained_style_onnx_file_draws(runner, tmp_path):
    onnx_file = tmp_path / "m.onnx"
    assert run(runner, "export", "grey", "--seed", 2, "-o", onnx_file).exit_code == 0
    result = run(
        runner, "draw", onnx_file, "--paper", "40x40mm", "--margin", 2, "--style", "flow", "-o", tmp_path / "m.svg"
    )
    assert result.exit_code == 0, result.output
    assert "<path" in (tmp_path / "m.svg").read_text()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--paper", "0x0mm"], "--paper must be at least 10"),
        (["--paper", "10000x200mm"], "--paper must be at most 3000"),
        (["--paper", "B7"], "--paper must be"),
        (["--margin", "40", "--paper", "60x60mm"], "--margin 40 leaves no drawing area"),
        (["--spacing", "0"], "--spacing must be at least 0.05"),
        (["--levels", "0"], "--levels must be at least 1"),
        (["--style", "hatch", "--per-channel"], "--per-channel"),
    ],
)
def test_bad_drawing_options_are_one_line_and_leave_nothing(runner, tmp_path, args, words):
    result = run(runner, "draw", "classic", *args, "-o", tmp_path / "x.svg")
    assert words in one_error_line(result)
    assert files_in(tmp_path) == []


def test_an_unwritable_path_is_one_line(runner, tmp_path):
    result = run(runner, "draw", "classic", "-o", tmp_path / "missing" / "x.svg")
    assert "does not exist" in one_error_line(result)
    assert files_in(tmp_path) == []


def test_a_damaged_recipe_is_one_line(runner, tmp_path):
    good = tmp_path / "g.svg"
    assert run(runner, "draw", "classic", "--seed", 1, "--paper", "30x30mm", "--margin", 2, "-o", good).exit_code == 0
    bad = tmp_path / "b.svg"
    bad.write_text(good.read_text().replace('"paper":[30.0,30.0]', '"paper":"huge"'))
    assert "drawing.paper" in one_error_line(run(runner, "draw", "--from", bad, "-o", tmp_path / "o.svg"))
    bad.write_text(good.read_text().replace('"style":"contours"', '"style":"crayon"'))
    assert "--style must be one of" in one_error_line(run(runner, "draw", "--from", bad, "-o", tmp_path / "o.svg"))
    assert sorted(files_in(tmp_path)) == ["b.svg", "g.svg"]


def test_a_foreign_svg_has_no_recipe(runner, tmp_path):
    foreign = tmp_path / "f.svg"
    foreign.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert "no cppnart recipe" in one_error_line(run(runner, "draw", "--from", foreign, "-o", tmp_path / "y.svg"))
    assert files_in(tmp_path) == ["f.svg"]


def test_an_error_mid_trace_leaves_nothing(tmp_path):
    """A stop while the picture is traced (raised from the progress callback, as a Ctrl-C is)."""

    def stop(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        save_drawing(small(), tmp_path / "x.svg", on_rows=stop)
    assert files_in(tmp_path) == []
