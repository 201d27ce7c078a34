"""Mesh files, each writer beside its reader: binary PLY and OBJ (small writers of our own, a
chunk of rows at a time), GLB (through trimesh), and binary STL.

Coordinates are millimetres, z up (a print bed's convention) except in GLB, which is y up as glTF
requires. PLY, OBJ and GLB carry the recipe: a ``comment cppnart-recipe {json}`` header line (PLY), a
``# cppnart-recipe {json}`` first line (OBJ), the scene's ``extras`` (GLB). A binary STL has
only an 80-byte header, too small for a recipe: it carries the model, seed and version there and
``read_mesh_recipe`` says to write PLY, OBJ or GLB for ``--from``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..__about__ import __version__
from ..errors import UserError
from .atomic import atomic_output

MESH_SUFFIXES = (".glb", ".ply", ".obj", ".stl")
RECIPE_MARK = "cppnart-recipe"
ROWS = 1 << 16  # vertices or faces formatted at a time (OBJ) or packed at a time (PLY, STL)
MAX_HEADER = 1 << 22  # bytes of a file's head searched for the recipe


def _recipe_text(recipe: dict[str, Any]) -> str:
    return json.dumps(recipe, separators=(",", ":"))


def _write_ply(f: Any, verts: np.ndarray, faces: np.ndarray, colours: np.ndarray, recipe: dict[str, Any]) -> None:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"comment {RECIPE_MARK} {_recipe_text(recipe)}\n"
        f"element vertex {len(verts)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    f.write(header.encode("utf-8"))
    vtype = np.dtype([("p", "<f4", 3), ("c", "u1", 3)])
    for i in range(0, len(verts), ROWS):
        rows = np.empty(len(verts[i : i + ROWS]), vtype)
        rows["p"], rows["c"] = verts[i : i + ROWS], colours[i : i + ROWS]
        f.write(rows.tobytes())
    ftype = np.dtype([("n", "u1"), ("i", "<i4", 3)])
    for i in range(0, len(faces), ROWS):
        rows = np.empty(len(faces[i : i + ROWS]), ftype)
        rows["n"], rows["i"] = 3, faces[i : i + ROWS]
        f.write(rows.tobytes())


def _write_obj(f: Any, verts: np.ndarray, faces: np.ndarray, colours: np.ndarray, recipe: dict[str, Any]) -> None:
    # 'v x y z r g b': the vertex-colour extension Blender, MeshLab and trimesh read.
    f.write(f"# {RECIPE_MARK} {_recipe_text(recipe)}\n# cppnart {__version__}\n".encode())
    for i in range(0, len(verts), ROWS):
        rows = np.hstack([verts[i : i + ROWS], colours[i : i + ROWS] / 255.0])
        np.savetxt(f, rows, fmt="v %.6g %.6g %.6g %.4g %.4g %.4g")
    for i in range(0, len(faces), ROWS):
        np.savetxt(f, faces[i : i + ROWS] + 1, fmt="f %d %d %d")


def _write_stl(f: Any, verts: np.ndarray, faces: np.ndarray, colours: np.ndarray, recipe: dict[str, Any]) -> None:
    label = f"cppnart {__version__} {recipe.get('preset') or recipe.get('model', '')} seed {recipe.get('seed')}"
    f.write(label.encode("ascii", "replace")[:80].ljust(80, b" "))
    f.write(struct.pack("<I", len(faces)))
    ftype = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    for i in range(0, len(faces), ROWS):
        tri = verts[faces[i : i + ROWS]].astype(np.float64)  # [n, 3, 3]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        length = np.linalg.norm(normal, axis=1, keepdims=True)
        rows = np.zeros(len(tri), ftype)
        rows["n"] = np.divide(normal, length, out=np.zeros_like(normal), where=length > 0)
        rows["v"] = tri
        f.write(rows.tobytes())


def _write_glb(f: Any, verts: np.ndarray, faces: np.ndarray, colours: np.ndarray, recipe: dict[str, Any]) -> None:
    import trimesh

    rgba = np.hstack([colours, np.full((len(colours), 1), 255, np.uint8)])
    # glTF is y-up (the other formats keep a print bed's z-up): (x, y, z) -> (x, z, -y), a rotation
    y_up = np.stack([verts[:, 0], verts[:, 2], -verts[:, 1]], axis=1)
    mesh = trimesh.Trimesh(y_up, faces, vertex_colors=rgba, process=False)
    scene = trimesh.Scene(mesh)
    scene.metadata["cppnart"] = _recipe_text(recipe)
    f.write(trimesh.exchange.gltf.export_glb(scene))


WRITERS = {".ply": _write_ply, ".obj": _write_obj, ".stl": _write_stl, ".glb": _write_glb}


def write_mesh(
    path: str | Path, verts: np.ndarray, faces: np.ndarray, colours: np.ndarray, recipe: dict[str, Any]
) -> Path:
    """Write a triangle mesh (vertices [V, 3] in mm, faces [F, 3], colours [V, 3] uint8) by the
    suffix of ``path``, atomically: Ctrl-C or an error leaves nothing."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise UserError(f"'{path}' must end in {', '.join(MESH_SUFFIXES)}")
    if path.suffix.lower() == ".glb":
        import_trimesh()
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        writer(f, verts, np.asarray(faces, dtype=np.int32), colours, recipe)
    return path


def import_trimesh() -> Any:
    """trimesh, or a one-line error naming the extra that installs it."""
    try:
        import trimesh
    except ImportError:
        raise UserError('GLB files need trimesh: pip install -e ".[mesh]" (or write .ply, .obj or .stl)') from None
    return trimesh


def _glb_recipe(head: bytes) -> str | None:
    if len(head) < 20 or head[:4] != b"glTF":
        raise ValueError("not a GLB file")
    size, kind = struct.unpack("<II", head[12:20])
    if kind != 0x4E4F534A or size > MAX_HEADER:  # 'JSON'
        raise ValueError("no JSON chunk")
    tree = json.loads(head[20 : 20 + size].decode("utf-8"))
    scenes = tree.get("scenes") or [{}]
    extras = scenes[0].get("extras") if isinstance(scenes[0], dict) else None
    return extras.get("cppnart") if isinstance(extras, dict) else None


def _text_recipe(head: bytes, prefix: bytes) -> str | None:
    for line in head.split(b"\n"):
        if line.startswith(prefix):
            return line[len(prefix) :].decode("utf-8")
        if line.startswith(b"end_header"):
            break
    return None


def read_mesh_recipe(path: str | Path) -> dict[str, Any]:
    """The recipe a mesh cppnart made carries (GLB, PLY, OBJ); a one-line error otherwise."""
    from ..configs.schema import loads_bounded

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise UserError(f"'{path}' is not a mesh file ({', '.join(MESH_SUFFIXES)})")
    if not path.is_file():
        raise UserError(f"mesh '{path}' not found")
    if suffix == ".stl":
        raise UserError(
            f"'{path}' is an STL file, whose 80-byte header has no room for a recipe; "
            "write .ply, .obj or .glb to render it again from its recipe"
        )
    try:
        with open(path, "rb") as f:
            head = f.read(MAX_HEADER)
        mark = f"{RECIPE_MARK} ".encode()
        text = (
            _glb_recipe(head)
            if suffix == ".glb"
            else _text_recipe(head, b"comment " + mark if suffix == ".ply" else b"# " + mark)
        )
    except (OSError, ValueError, UnicodeDecodeError, struct.error):
        raise UserError(f"'{path}' is not a mesh cppnart can read") from None
    if not text:
        raise UserError(f"'{path}' carries no cppnart recipe; only files cppnart made carry one")
    recipe = loads_bounded(text, f"the recipe in '{path}'")
    if not isinstance(recipe, dict) or not isinstance(recipe.get("mesh"), dict):
        raise UserError(f"the cppnart recipe in '{path}' is damaged")
    return recipe
