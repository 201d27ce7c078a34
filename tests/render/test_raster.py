"""`render.raster`: shaded views of meshes, checked against geometry we know."""

from __future__ import annotations

import numpy as np
import pytest

from cppnart.render import raster
from cppnart.render.raster import AMBIENT, MeshView, view_rotation

RED = (200, 60, 60)


def square(y: float, half: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A square in the plane ``y`` facing -y (towards the camera at azimuth 0, elevation 0)."""
    verts = np.array([[-half, y, -half], [half, y, -half], [half, y, half], [-half, y, half]], float)
    return verts, np.array([[0, 1, 2], [0, 2, 3]])


def solid(verts: np.ndarray, faces: np.ndarray, colour: tuple[int, int, int]) -> MeshView:
    return MeshView.of(verts, faces, np.tile(np.array(colour, np.uint8), (len(verts), 1)))


def background(image: np.ndarray) -> np.ndarray:
    return (image == 255).all(axis=-1)


def test_a_sphere_covers_the_disc_it_projects_to():
    trimesh = pytest.importorskip("trimesh")
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=2.0)
    image = solid(sphere.vertices, sphere.faces, RED).frame(200, 200, azimuth=17, elevation=33)
    radius = 0.94 * 100  # the bounding sphere fills 94% of the half frame
    covered = (~background(image)).sum()
    assert abs(covered / (np.pi * radius**2) - 1) < 0.02
    # shaded, not flat: lit towards the light, never darker than the ambient share of its colour
    red = image[~background(image)][:, 0].astype(float)
    assert red.max() > 0.9 * RED[0] and red.min() > 0.9 * AMBIENT * RED[0] and red.std() > 20


def test_the_nearer_square_hides_the_farther_whatever_their_order():
    near, faces = square(-0.5, 0.5)
    far, _ = square(0.5, 1.0)
    verts = np.concatenate([far, near])
    colours = np.array([[0, 0, 255]] * 4 + [[255, 0, 0]] * 4, np.uint8)
    both = np.concatenate([faces, faces + 4])
    for order in (both, both[::-1]):
        image = MeshView.of(verts, order, colours).frame(100, 100, azimuth=0, elevation=0, supersample=1)
        centre, corner = image[50, 50], image[25, 25]  # the far square spans 31 pixels each way, the near 16
        assert centre[0] > 100 and centre[2] == 0  # the near red square in the middle
        assert corner[2] > 100 and corner[0] == 0  # the far blue one around it


def test_faces_turned_away_are_not_drawn():
    verts, faces = square(0.0)
    assert not background(solid(verts, faces, RED).frame(64, 64, elevation=0)).all()
    assert background(solid(verts, faces[:, ::-1], RED).frame(64, 64, elevation=0)).all()


def test_small_groups_draw_the_same_frame_as_one_group(monkeypatch):
    trimesh = pytest.importorskip("trimesh")
    blob = trimesh.creation.icosphere(subdivisions=3)
    blob.vertices *= [1.0, 0.6, 1.4]
    colours = np.random.default_rng(0).integers(0, 256, (len(blob.vertices), 3)).astype(np.uint8)
    view = MeshView.of(blob.vertices, blob.faces, colours)
    whole = view.frame(96, 96, azimuth=40)
    monkeypatch.setattr(raster, "CANDIDATES", 37)  # groups of a triangle or two
    assert np.array_equal(view.frame(96, 96, azimuth=40), whole)


def test_turning_shows_the_other_side():
    # a slab long in x and thin in y: wide seen from the front, narrow from the side
    trimesh = pytest.importorskip("trimesh")
    slab = trimesh.creation.box(extents=(2.0, 0.4, 0.4))
    view = solid(slab.vertices, slab.faces, RED)

    def width(azimuth: float) -> int:
        return int((~background(view.frame(120, 120, azimuth=azimuth, elevation=0))).any(axis=0).sum())

    ratio = width(0) / width(90)
    assert abs(ratio - 5.0) < 0.5, ratio  # 2.0 against 0.4


def test_the_rotation_is_proper_and_looks_from_above():
    rot = view_rotation(30.0, 25.0)
    assert np.allclose(rot @ rot.T, np.eye(3)) and np.isclose(np.linalg.det(rot), 1.0)
    top = rot @ np.array([0.0, 0.0, 1.0])
    assert top[1] > 0 and top[2] > 0  # the object's top is up and tilted towards the camera
