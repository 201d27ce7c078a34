"""CPPNs as solids: the surface where a 3-D CPPN's density crosses a level (marching cubes on a
grid sampled slab by slab), and height-field reliefs of 2-D pictures; ``save_mesh`` writes either.

    request = resolve_mesh("solid", seed=7, res=256)
    save_mesh(request, "solid.glb")

Memory stays bounded at any grid: the density is sampled ``SLAB_PLANES`` planes at a time, padded
with outside values at the bounding box (so the surface is closed), and each slab goes through
scikit-image's marching cubes (Lewiner's, which decides every cube from its own eight values, so a
slab's cubes are the whole grid's cubes). Neighbouring slabs share one plane: the vertices on it
come out of both at the same coordinates and are welded, so the joined mesh has no cracks and
equals the whole extraction vertex for vertex. What grows with the grid is the mesh itself
(about res^2), never the res^3 samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.schema import Range, check_param
from ..errors import PARAM, ParamError, UserError
from ..io.budget import check_budget
from ..io.extras import require
from .request import PictureRequest, resolve_picture, resolve_seed, resolve_z
from .solid import SolidModel, is_solid, load_solid, solid_from_table

SLAB_PLANES = 16  # grid planes per slab: at 512^3 a slab is 17 x 514^2 float32 = 18 MB
MESH_RANGES = {
    "res": Range(8, 8192, "samples a side; work grows with its cube"),
    "level": Range(0.0, 1.0, "the density runs from 0 to 1"),
    "size_mm": Range(0.1, 10_000.0, "the object's largest side in millimetres"),
    "depth_mm": Range(0.0, 10_000.0, "the relief's height above its base, in millimetres"),
    "base_mm": Range(0.01, 10_000.0, "the relief's solid base under its lowest point, in millimetres"),
    "slab": Range(1, 8192, "grid planes sampled at once"),
}
DEFAULT_MESH_RES = 128
DEFAULT_RELIEF_RES = 256
BYTES_PER_SURFACE_SAMPLE = 120  # measured: vertices + faces + marching cubes' tables per res^2 of surface


def check_mesh_param(name: str, value: Any) -> Any:
    """A mesh option within ``MESH_RANGES`` (a ParamError naming it otherwise)."""
    return check_param(name, value, MESH_RANGES[name])


@dataclass(frozen=True)
class Surface:
    """A closed triangle surface in grid space ([-1, 1] cube): vertices [V, 3] float32 (x, y, z),
    faces [F, 3] int32 (counter-clockwise seen from outside), the grid samples above the level,
    and the density's range over the grid."""

    verts: np.ndarray
    faces: np.ndarray
    inside: int
    res: int
    low: float
    high: float

    @property
    def voxel_volume(self) -> float:
        """The volume the inside samples stand for, in grid units (each sample a cube of side 2/(res-1))."""
        return self.inside * (2.0 / (self.res - 1)) ** 3


def grid_axis(res: int) -> np.ndarray:
    """Sample positions along one side of the [-1, 1] cube (float32, ends included)."""
    return np.linspace(-1.0, 1.0, res).astype(np.float32)


def plane_points(res: int, k0: int, k1: int) -> np.ndarray:
    """Points [(k1-k0)*res*res, 3] (x, y, z) of grid planes k0..k1-1, plane by plane, row by row."""
    ax = grid_axis(res)
    zz, yy, xx = np.meshgrid(ax[k0:k1], ax, ax, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel(), zz.ravel()], axis=1)


def _weld(prev: tuple[np.ndarray, np.ndarray] | None, verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of a slab's vertices lie on its first plane and the global index each has already
    (from ``prev``: the previous slab's last-plane vertices and their indices). Both slabs compute
    those vertices from the same edge values, so they match exactly; anything else is a crack."""
    first = verts[:, 0] == 0.0
    if prev is None or not first.any():
        return first & False, np.empty(0, np.int64)
    prev_pts, prev_idx = prev
    here = verts[first][:, 1:]
    a, b = np.lexsort(prev_pts[:, 1:].T[::-1]), np.lexsort(here.T[::-1])
    if len(a) != len(b) or not np.array_equal(prev_pts[a][:, 1:], here[b]):
        raise RuntimeError("slabs disagree on their shared plane (a crack); report this with the model and res")
    glob = np.empty(len(here), np.int64)
    glob[b] = prev_idx[a]
    return first, glob


def extract_surface(
    density: Callable[[int, int], np.ndarray],
    res: int,
    level: float,
    slab: int = SLAB_PLANES,
    on_planes: Callable[[int], None] | None = None,
) -> Surface:
    """The closed ``level`` surface of a density on a res^3 grid; ``density(k0, k1)`` returns planes
    k0..k1-1 as float32 [k1-k0, res, res] (z, y, x). Slabs of ``slab`` planes; ``slab >= res`` is
    the whole extraction in one call."""
    from skimage.measure import marching_cubes

    outside = np.float32(level - 1.0)
    verts: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    count, inside, low, high = 0, 0, np.inf, -np.inf
    prev: tuple[np.ndarray, np.ndarray] | None = None
    cached: np.ndarray | None = None  # the shared plane, sampled once
    a = 0
    while a < res + 1:  # padded planes 0 .. res+1: 0 and res+1 are outside
        b = min(a + slab, res + 1)
        block = np.full((b - a + 1, res + 2, res + 2), outside, np.float32)
        k0, k1 = max(a, 1) - 1, min(b, res)  # grid planes p-1 for padded p in [a, b] ∩ [1, res]
        start = k0
        if cached is not None and a >= 1:
            block[0, 1:-1, 1:-1] = cached
            start = k0 + 1
        if start < k1:
            planes = density(start, k1)
            block[start + 1 - a : k1 + 1 - a, 1:-1, 1:-1] = planes
            inside += int((planes > level).sum())
            low, high = min(low, float(planes.min())), max(high, float(planes.max()))
            if on_planes is not None:
                on_planes(k1 - start)
        cached = block[-1, 1:-1, 1:-1].copy() if 1 <= b <= res else None
        _close(block, np.float32(level), a == 0, b == res + 1)
        if block.min() < level < block.max():
            # allow_degenerate: removing zero-area triangles tests float32 positions, whose rounding
            # differs between a slab (small local coordinates) and the whole grid: at 256^3 it left
            # the whole extraction one vertex short of the slabs'. Kept, both have one vertex per
            # crossed edge, decided by the samples alone.
            v, f, _, _ = marching_cubes(block, level, allow_degenerate=True, method="lewiner")
            v = v.astype(np.float64)
            shared, known = _weld(prev, v)
            glob = np.empty(len(v), np.int64)
            glob[shared] = known
            fresh = ~shared
            glob[fresh] = count + np.arange(int(fresh.sum()))
            count += int(fresh.sum())
            v[:, 0] += a
            # (z, y, x) grid index -> (x, y, z) in the [-1, 1] cube, float32 from here on
            verts.append((-1.0 + 2.0 * (v[fresh][:, ::-1] - 1.0) / (res - 1)).astype(np.float32))
            faces.append(glob[f].astype(np.int32))
            last = v[:, 0] == b
            prev = (v[last] - [a, 0, 0], glob[last]) if b < res + 1 else None
            if prev is not None:
                prev[0][:, 0] = 0.0
        else:
            prev = None
        a = b
    if not verts:
        raise UserError(
            f"the density never crosses level {level:g} (it runs from {low:.3g} to {high:.3g} on this grid): "
            "the surface is empty; choose a level between those"
        )
    world = np.concatenate(verts)
    del verts
    tri = np.concatenate(faces)
    del faces
    if signed_volume(world, tri) < 0:
        tri[:, [1, 2]] = tri[:, [2, 1]]  # in place: one mesh's worth of faces, not two
    return Surface(world, np.ascontiguousarray(tri), inside, res, low, high)


def _close(block: np.ndarray, level: np.float32, first: bool, last: bool) -> None:
    """Pad a slab's border (and the grid's first and last plane) with outside values that mirror
    the samples next to them about the level (2 * level - d where d is inside): the surface then
    closes exactly half a sample spacing outside the grid, flat, like the cube each inside sample
    stands for, so the mesh's volume agrees with the count of inside samples (measured at 48^3 on
    six seeds: within 0.3%; a constant pad of level - 1 closed a third of a spacing out, and the
    volume fell 1.4 to 5.4% short)."""

    def mirror(d: np.ndarray) -> np.ndarray:
        return np.where(d > level, 2 * level - d, level - 1).astype(np.float32)

    block[:, 0, 1:-1], block[:, -1, 1:-1] = mirror(block[:, 1, 1:-1]), mirror(block[:, -2, 1:-1])
    block[:, 1:-1, 0], block[:, 1:-1, -1] = mirror(block[:, 1:-1, 1]), mirror(block[:, 1:-1, -2])
    if first:
        block[0, 1:-1, 1:-1] = mirror(block[1, 1:-1, 1:-1])
    if last:
        block[-1, 1:-1, 1:-1] = mirror(block[-2, 1:-1, 1:-1])


def signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """The volume a closed triangle mesh encloses (positive when its faces wind outward)."""
    total, step = 0.0, 1 << 16  # faces at a time: 4.7 MB of float64 corners, not the mesh's worth
    for i in range(0, len(faces), step):
        t = verts[faces[i : i + step]].astype(np.float64)
        total += float(np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum())
    return total / 6.0


def to_millimetres(verts: np.ndarray, size_mm: float) -> tuple[np.ndarray, float]:
    """Vertices scaled so the largest side is ``size_mm``, centred in x and y, standing on z = 0
    (a print bed's origin); and the factor applied."""
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    factor = size_mm / float(max((hi - lo).max(), 1e-12))
    shift = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]], np.float64)
    return ((verts - shift) * factor).astype(np.float32), factor


def colour_bytes(rgb: np.ndarray) -> np.ndarray:
    """Colours in [0, 1] as uint8 (round to nearest)."""
    return np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)


# --- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SolidRequest:
    """The mesh of a 3-D CPPN: its ``level`` surface on a ``res``^3 grid, ``size_mm`` on its largest side."""

    model: SolidModel
    z: np.ndarray
    res: int = DEFAULT_MESH_RES
    level: float = 0.5
    size_mm: float = 80.0
    slab: int = SLAB_PLANES
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "z", self.model.check_z(np.asarray(self.z, np.float32))[:1])
        for name in ("res", "level", "size_mm", "slab"):
            check_mesh_param(name, getattr(self, name))

    def recipe(self) -> dict[str, Any]:
        """What the mesh file carries so that ``--from`` makes it again."""
        from ..__about__ import __version__

        out: dict[str, Any] = {
            "model": self.model.source,
            "preset": self.model.preset,
            "seed": self.model.seed,
            "z": [float(v) for v in self.z[0]],
            "version": __version__,
            "mesh": {"kind": "solid", "res": self.res, "level": self.level, "size_mm": self.size_mm},
        }
        if self.model.from_preset and self.model.config:
            out["config"] = self.model.config
        return out

    def check(self) -> None:
        """The work and the memory within budget, before the first sample."""
        n = float(self.res)
        planes = min(self.slab, self.res) + 1
        memory = planes * (n + 2) ** 2 * 4 * 8 + n * n * BYTES_PER_SURFACE_SAMPLE
        check_budget(f"a {self.res}^3 mesh", samples=n**3, memory=memory)


@dataclass(frozen=True, eq=False)
class ReliefRequest:
    """A height-field relief of a 2-D picture: brightness 0..1 lifts the top ``depth_mm`` above a
    ``base_mm`` slab; ``size_mm`` is the tile's longer side. Closed underneath (printable)."""

    picture: PictureRequest
    size_mm: float = 80.0
    depth_mm: float = 4.0
    base_mm: float = 1.0

    def __post_init__(self) -> None:
        for name in ("size_mm", "depth_mm", "base_mm"):
            check_mesh_param(name, getattr(self, name))

    @property
    def model(self) -> Any:
        """The picture's model."""
        return self.picture.model

    @property
    def seed(self) -> int | None:
        """The picture's seed."""
        return self.picture.seed

    def recipe(self) -> dict[str, Any]:
        """The picture's recipe and the relief's options."""
        options = {"kind": "relief", "size_mm": self.size_mm, "depth_mm": self.depth_mm, "base_mm": self.base_mm}
        return {**self.picture.recipe(), "mesh": options}

    def check(self) -> None:
        """The picture's own checks, and the mesh (about 2 vertices and 4 faces a pixel) in memory."""
        w, h = self.picture.width, self.picture.height
        self.picture.canvas.check()
        check_budget(f"a {w}x{h} relief", memory=float(w) * h * 80)


MeshRequest = SolidRequest | ReliefRequest


def _mesh_option(name: str, given: Any, options: dict[str, Any], default: Any) -> Any:
    value = given if given is not None else options.get(name, default)
    return check_mesh_param(name, value)


def resolve_mesh(
    model: str | Path | Any = None,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int | None = None,
    z: Any = None,
    res: int | None = None,
    level: float | None = None,
    size_mm: float | None = None,
    relief: bool | None = None,
    depth_mm: float | None = None,
    base_mm: float | None = None,
    zoom: float | None = None,
    center: Sequence[float] | None = None,
    tile: bool | None = None,
    slab: int = SLAB_PLANES,
    device: str = "auto",
) -> MeshRequest:
    """The mesh these arguments ask for, with ``resolve_picture``'s precedence (argument, then the
    ``recipe``'s, then the default). A 3-D model (a ``solid`` preset) gives its level surface; any
    2-D model with ``relief`` gives a height field of its picture, a seamless relief tile with
    ``tile`` (the picture's seamless tile: ``render.seamless``)."""
    recipe = recipe or {}
    found = recipe.get("mesh")
    options: dict[str, Any] = found if isinstance(found, dict) else {}
    relief = bool(relief) if relief is not None else options.get("kind") == "relief"
    size = _mesh_option("size_mm", size_mm, options, 80.0)
    if relief:
        n = _mesh_option("res", res, {}, DEFAULT_RELIEF_RES) if res is not None else None
        picture = resolve_picture(
            model, recipe=recipe, seed=seed, z=z, res=(n, n) if n else None, zoom=zoom, center=center, tile=tile,
            device=device,
        )  # fmt: skip
        if res is None and not recipe.get("res"):
            picture = picture.resized(DEFAULT_RELIEF_RES, DEFAULT_RELIEF_RES)
        depth = _mesh_option("depth_mm", depth_mm, options, 4.0)
        return ReliefRequest(picture, size, depth, _mesh_option("base_mm", base_mm, options, 1.0))
    if zoom is not None or center is not None:
        raise UserError("zoom and center frame 2-D pictures; a solid is always the [-1, 1] cube")
    if tile:
        raise ParamError("tile", "is for reliefs: a solid is one closed object, not a tile")
    chosen = resolve_seed(recipe, seed)
    net = _resolve_solid(model, recipe, chosen, device)
    latent = resolve_z(net, z, recipe, chosen, seed is not None)  # type: ignore[arg-type]
    return SolidRequest(
        net,
        latent,
        _mesh_option("res", res, options, DEFAULT_MESH_RES),
        _mesh_option("level", level, options, 0.5),
        size,
        slab,
        net.seed if net.from_preset else chosen,
    )


def _resolve_solid(model: Any, recipe: dict[str, Any], seed: int, device: str) -> SolidModel:
    """The 3-D model asked for, else the recipe's (its config rebuilds it), else the ``solid`` preset."""
    if isinstance(model, SolidModel):
        return model
    if model is not None:
        if not is_solid(model):
            raise ParamError(
                "relief", f"'{model}' is a 2-D model; mesh it as a height field with {PARAM}, or name a 3-D preset"
            )
        return load_solid(model, seed, device)
    config = recipe.get("config")
    if isinstance(config, dict) and config.get("kind") == "solid":
        return solid_from_table(config, seed, str(recipe.get("model", "solid")), device, "the mesh's recipe")
    if recipe.get("model"):
        return load_solid(recipe["model"], seed, device)
    return load_solid("solid", seed, device)


# --- building and saving ------------------------------------------------------------------------


@dataclass(frozen=True)
class MeshResult:
    """What ``save_mesh`` wrote: the file, its counts, the enclosed volume (mm^3) and the scale."""

    path: Path
    vertices: int
    faces: int
    volume_mm3: float
    mm_per_unit: float


def solid_surface(request: SolidRequest, on_planes: Callable[[int], None] | None = None) -> Surface:
    """The request's closed surface in grid space (bounded memory: see the module's note)."""
    model, res = request.model, request.res

    def density(k0: int, k1: int) -> np.ndarray:
        return model.field(plane_points(res, k0, k1), request.z)[:, 0].reshape(k1 - k0, res, res)

    return extract_surface(density, res, request.level, request.slab, on_planes)


def relief_arrays(request: ReliefRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (mm), faces and colours (uint8) of the closed relief: the top a grid of the
    picture's pixels, walls down each side, a bottom fanned from its centre."""
    pic = request.picture
    bands = list(pic.model.canvas_bands(pic.z, pic.canvas))
    image = np.concatenate([b[0] for b in bands], axis=0)  # [H, W, C]
    h, w = image.shape[:2]
    if min(w, h) < 2:
        raise ParamError("res", f"a relief needs at least 2x2 pixels, got {w}x{h}")
    rgb = image if image.shape[2] == 3 else np.repeat(image, 3, axis=2)
    bright = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 luma
    pitch = request.size_mm / (max(w, h) - 1)
    xs, ys = np.arange(w) * pitch, (h - 1 - np.arange(h)) * pitch  # image rows run down; y runs up
    top = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None], request.base_mm + request.depth_mm * bright), -1)
    idx = np.arange(h * w).reshape(h, w)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    top_faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)])
    ring = np.concatenate([idx[0, :-1], idx[:-1, -1], idx[-1, :0:-1], idx[:0:-1, 0]])  # the boundary loop
    n = h * w
    bottom = top.reshape(-1, 3)[ring].copy()
    bottom[:, 2] = 0.0
    centre = np.array([[xs[-1] / 2, ys[0] / 2, 0.0]])
    verts = np.concatenate([top.reshape(-1, 3), bottom, centre]).astype(np.float32)
    k = len(ring)
    ring_next, low, low_next = np.roll(ring, -1), n + np.arange(k), n + (np.arange(k) + 1) % k
    # the ring runs clockwise seen from above: these windings face outward, like the top's
    walls = np.concatenate([np.stack([ring, ring_next, low], 1), np.stack([ring_next, low_next, low], 1)])
    fan = np.stack([np.full(k, n + k), low, low_next], 1)
    faces = np.concatenate([top_faces, walls, fan]).astype(np.int32)
    if signed_volume(verts, faces) < 0:
        faces = faces[:, ::-1].copy()
    flat = rgb.reshape(-1, 3)
    colours = colour_bytes(np.concatenate([flat, flat[ring], [[0.5, 0.5, 0.5]]]))
    return verts, faces, colours


def mesh_arrays(
    request: MeshRequest, on_planes: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(vertices in mm, faces, colours uint8, mm per grid unit) of the request's mesh."""
    if isinstance(request, ReliefRequest):
        verts, faces, colours = relief_arrays(request)
        return verts, faces, colours, 1.0
    require("a solid's mesh", "mesh", "skimage")  # marching cubes; here, so every output of a solid asks
    surface = solid_surface(request, on_planes)
    colours = colour_bytes(request.model.field(surface.verts, request.z)[:, 1:4])  # the CPPN at each vertex
    verts, factor = to_millimetres(surface.verts, request.size_mm)
    return verts, surface.faces, colours, factor


def default_mesh_name(request: MeshRequest, suffix: str = ".glb") -> Path:
    """``LABEL-SEED-RES.glb`` (a solid) or ``LABEL-SEED-WxH-relief.glb``."""
    seed = "z" if request.seed is None else request.seed
    if isinstance(request, ReliefRequest):
        return Path(f"{request.model.label}-{seed}-{request.picture.width}x{request.picture.height}-relief{suffix}")
    return Path(f"{request.model.label}-{seed}-{request.res}{suffix}")


def save_mesh(
    request: MeshRequest,
    out: str | Path | None = None,
    *,
    force: bool = False,
    on_planes: Callable[[int], None] | None = None,
) -> MeshResult:
    """Build the request's mesh and write it to ``out`` (.glb, .ply, .obj, .stl; default the
    request's name), atomically, carrying its recipe (STL: see ``io.meshfile``). A different mesh
    at ``out`` is refused unless ``force``; ``on_planes(n)`` reports grid planes sampled."""
    from ..io.atomic import check_writable
    from ..io.meshfile import MESH_SUFFIXES, read_mesh_recipe, write_mesh
    from ..io.names import refuse_replacing

    path = Path(out) if out is not None else default_mesh_name(request)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ParamError("out", f"must end in {', '.join(MESH_SUFFIXES)}, got '{path}'")
    check_writable(path)
    request.check()
    recipe = request.recipe()
    refuse_replacing(path, lambda: same_mesh_recipe(read_mesh_recipe(path), recipe), force)
    verts, faces, colours, factor = mesh_arrays(request, on_planes)
    write_mesh(path, verts, faces, colours, recipe)
    return MeshResult(path, len(verts), len(faces), signed_volume(verts, faces), float(factor))


def same_mesh_recipe(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two recipes make the same mesh (whatever else they carry)."""
    keys = ("model", "seed", "z", "res", "zoom", "center", "config", "mesh")
    return all(a.get(k) == b.get(k) for k in keys)
