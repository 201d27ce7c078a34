"""`cppnart mesh`: 3-D CPPN surfaces and reliefs, read back by trimesh."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cppnart.cli import app
from cppnart.configs.presets import load_preset
from cppnart.graph.solid import random_solid_weights, solid_forward

from ..conftest import files_in, one_error_line

pytest.importorskip("skimage")
trimesh = pytest.importorskip("trimesh")
from cppnart.io.meshfile import read_mesh_recipe  # noqa: E402
from cppnart.render.mesh import colour_bytes, resolve_mesh, save_mesh, signed_volume, solid_surface  # noqa: E402


def run(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_solid_graph_matches_its_numpy_reference():
    request = resolve_mesh("solid", seed=4, res=16)
    points = np.random.default_rng(0).uniform(-1.2, 1.2, (2000, 3)).astype(np.float32)
    reference = solid_forward(random_solid_weights(load_preset("solid"), 4), points, request.z)[0]
    assert np.abs(request.model.field(points, request.z) - reference).max() < 1e-4


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_the_surface_is_watertight_and_its_volume_agrees_with_the_voxel_count(seed):
    surface = solid_surface(resolve_mesh("solid", seed=seed, res=64))
    mesh = trimesh.Trimesh(surface.verts, surface.faces, process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent
    error = mesh.volume / surface.voxel_volume - 1
    print(f"seed {seed}: mesh volume {mesh.volume:.4f}, voxels {surface.voxel_volume:.4f}, {error:+.2%}")
    assert abs(error) < 0.02 and signed_volume(surface.verts, surface.faces) > 0


@pytest.mark.parametrize("slab", [1, 5, 17])
def test_slabs_join_without_cracks_into_the_whole_extraction(slab):
    request = resolve_mesh("solid", seed=5, res=40)
    whole = solid_surface(dataclasses.replace(request, slab=8192))
    chunked = solid_surface(dataclasses.replace(request, slab=slab))
    assert len(chunked.verts) == len(whole.verts) and len(chunked.faces) == len(whole.faces)
    from scipy.spatial import cKDTree  # scikit-image's own dependency

    distance, index = cKDTree(whole.verts).query(chunked.verts)
    assert distance.max() < 1e-5 and len(set(index.tolist())) == len(index)  # float32 rounding only, one to one
    edges = np.sort(chunked.faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all()  # every edge shared by exactly two faces: no cracks


@pytest.mark.parametrize("suffix", [".glb", ".ply", ".obj", ".stl"])
def test_every_format_loads_in_trimesh_watertight_with_its_recipe(tmp_path, suffix):
    request = resolve_mesh("solid", seed=3, res=24, size_mm=50.0)
    result = save_mesh(request, tmp_path / f"m{suffix}")
    mesh = trimesh.load(result.path, force="mesh", process=suffix == ".stl")
    assert mesh.is_watertight and len(mesh.faces) == result.faces
    up = 1 if suffix == ".glb" else 2  # glTF is y-up; the print formats z-up
    assert max(mesh.extents) == pytest.approx(50.0, rel=1e-4) and mesh.bounds[0][up] == pytest.approx(0.0, abs=1e-4)
    assert mesh.volume == pytest.approx(result.volume_mm3, rel=1e-4)
    if suffix != ".stl":
        assert len(mesh.vertices) == result.vertices
        assert read_mesh_recipe(result.path)["mesh"] == {"kind": "solid", "res": 24, "level": 0.5, "size_mm": 50.0}


def test_vertex_colours_are_the_cppn_at_the_vertices(tmp_path):
    request = resolve_mesh("solid", seed=2, res=24)
    result = save_mesh(request, tmp_path / "c.ply")
    surface = solid_surface(request)
    expected = colour_bytes(
        solid_forward(random_solid_weights(load_preset("solid"), 2), surface.verts, request.z)[0][:, 1:]
    )
    loaded = trimesh.load(result.path, process=False)
    got = np.asarray(loaded.visual.vertex_colors)[:, :3].astype(int)
    assert np.abs(got - expected.astype(int)).max() <= 1


def test_a_relief_of_a_2d_model_is_closed_underneath(tmp_path):
    request = resolve_mesh("classic", seed=7, relief=True, res=32, size_mm=40.0, depth_mm=3.0, base_mm=1.0)
    result = save_mesh(request, tmp_path / "r.glb")
    mesh = trimesh.load(result.path, force="mesh", process=False)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert mesh.bounds[0][1] == pytest.approx(0.0) and 1.0 <= mesh.bounds[1][1] <= 4.0 + 1e-4  # y-up glTF
    image = request.picture.model.render(request.picture.z, 32, 32)
    mean = float((image @ np.array([0.2126, 0.7152, 0.0722], np.float32)).mean())
    assert mesh.volume == pytest.approx(40.0 * 40.0 * (1.0 + 3.0 * mean), rel=0.03)  # base + mean height


def test_cli_mesh_info_and_from_round_trip(runner, tmp_path):
    out = tmp_path / "a.ply"
    result = run(runner, "mesh", "solid", "--seed", 1, "--res", 20, "--size", "3cm", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["path"] == str(out) and data["vertices"] > 0
    shown = json.loads(run(runner, "info", out, "--json").output)
    assert shown["seed"] == 1 and shown["mesh"]["size_mm"] == 30.0
    again = tmp_path / "b.ply"
    assert run(runner, "mesh", "--from", out, "-o", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    "args, words",
    [
        (["solid", "--seed", "2", "--level", "1", "--res", "16"], "surface is empty"),
        (["solid", "--res", "4096"], "CPPNART_MAX_SAMPLES"),
        (["solid", "--level", "2"], "--level must be at most 1"),
        (["classic", "--res", "16"], "--relief"),
        (["solid", "--size", "big"], "--size 'big' is not a length"),
        (["solid", "--size", "0mm"], "--size must be at least 0.1"),
        (["classic", "--relief", "--depth", "20m"], "--depth must be at most 10000"),
    ],
)
def test_bad_mesh_input_is_one_line_and_leaves_nothing(runner, tmp_path, args, words):
    result = run(runner, "mesh", *args, "-o", tmp_path / "x.glb")
    assert words in one_error_line(result)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    "body, words",
    [("width = 0", "'width' must be at least 1"), ('z_prior = "cauchy"', "'z_prior' must be one of"),
     ("falloff = -1.0", "'falloff' must be at least 0"), ("colour = 1", "unknown key 'colour'")],
)  # fmt: skip
def test_a_bad_solid_preset_names_its_key(runner, tmp_path, body, words):
    preset = tmp_path / "mine.toml"
    preset.write_text(f'kind = "solid"\n{body}\n')
    assert words in one_error_line(run(runner, "mesh", preset, "-o", tmp_path / "x.glb"))
    assert files_in(tmp_path) == ["mine.toml"]


def test_an_unwritable_mesh_path_is_one_line(runner, tmp_path):
    assert "does not exist" in one_error_line(run(runner, "mesh", "solid", "-o", tmp_path / "no" / "x.stl"))
    assert files_in(tmp_path) == []


def test_render_of_a_solid_preset_points_to_mesh(runner, tmp_path):
    assert "cppnart mesh solid" in one_error_line(run(runner, "render", "solid", "-o", tmp_path / "x.png"))
    assert files_in(tmp_path) == []


def test_stl_says_it_carries_no_recipe(runner, tmp_path):
    out = tmp_path / "s.stl"
    assert run(runner, "mesh", "solid", "--seed", 1, "--res", 12, "-o", out).exit_code == 0
    assert "no room for a recipe" in one_error_line(run(runner, "info", out))


def test_ctrl_c_mid_mesh_leaves_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cppnart", "mesh", "solid", "--seed", "3", "--res", "320", "-q", "-o", "m.glb"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(3.0)  # start-up, then sampling (320^3 takes tens of seconds here)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode() and files_in(tmp_path) == []


def test_a_volume_onnx_file_meshes_like_its_preset(runner, tmp_path):
    preset = resolve_mesh("solid", seed=6, res=16)
    model_file = tmp_path / "solid-6.onnx"
    model_file.write_bytes(preset.model.onnx_bytes)
    z_file = tmp_path / "z.npy"
    np.save(z_file, preset.z[0])
    out = tmp_path / "f.ply"
    result = run(runner, "mesh", model_file, "--z", z_file, "--res", 16, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["vertices"] == len(solid_surface(preset).verts)


def test_a_damaged_mesh_recipe_is_one_line(runner, tmp_path):
    good = tmp_path / "g.obj"
    assert run(runner, "mesh", "solid", "--seed", 1, "--res", 12, "-o", good).exit_code == 0
    bad = tmp_path / "b.obj"
    bad.write_text(good.read_text().replace('"res":12', '"res":"many"'))
    assert "--res must be a number" in one_error_line(run(runner, "mesh", "--from", bad, "-o", tmp_path / "o.obj"))
    bad.write_text(good.read_text().replace('"kind":"solid","z_dim"', '"kind":"solid","z_dim":-3,"x"'))
    assert "the mesh's recipe" in one_error_line(run(runner, "mesh", "--from", bad, "-o", tmp_path / "o.obj"))
    assert sorted(files_in(tmp_path)) == ["b.obj", "g.obj"]


def test_a_tiled_relief_joins_its_neighbours_without_a_step(tmp_path, runner):
    """--tile --relief: the height field of the picture's seamless tile, so copies laid side by side
    (or printed and put together) meet as neighbouring pixels do; a solid refuses --tile."""
    from cppnart.render.mesh import relief_arrays

    def step_across_over_step_inside(tile: bool) -> float:
        verts, _, _ = relief_arrays(resolve_mesh("classic", seed=7, relief=True, res=48, tile=tile))
        heights = verts[: 48 * 48, 2].reshape(48, 48)
        inside = np.abs(np.diff(heights, axis=1)).mean()  # between neighbouring columns
        return float(np.abs(heights[:, 0] - heights[:, -1]).mean() / inside)  # last column to the first

    # measured: 0.67 tiled, 7.3 not (classic, seed 7, 48x48)
    assert step_across_over_step_inside(True) < 1.5 < 3 < step_across_over_step_inside(False)
    line = one_error_line(run(runner, "mesh", "solid", "--res", 8, "--tile", "-o", tmp_path / "s.glb"))
    assert "--tile is for reliefs" in line and files_in(tmp_path) == []
    out = tmp_path / "tile.ply"
    assert run(runner, "mesh", "classic", "--relief", "--tile", "--res", 24, "-o", out).exit_code == 0
    assert trimesh.load(out, force="mesh", process=False).is_watertight
