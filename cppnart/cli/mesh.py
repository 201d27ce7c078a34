"""`cppnart mesh`: a 3-D CPPN's surface (or a 2-D picture's relief) as a printable mesh."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import UserError

if TYPE_CHECKING:
    from ..render.mesh import MeshRequest
from .draw import OutputFlags
from .options import CenterOption, SeedOption, TileOption, ZoomOption, noted_default, option_groups
from .output import check_output, emit, parse_center, parse_res, progress, user_errors

app = typer.Typer()
MESH_OUT = (".glb", ".ply", ".obj", ".stl")
TURNTABLE_OUT = (".mp4", ".gif", ".webp")


def parse_mm(text: Optional[str], option: str) -> Optional[float]:
    """'80mm', '80' or '8cm' -> millimetres.

    >>> parse_mm("80mm", "--size"), parse_mm("8cm", "--size"), parse_mm(None, "--size")
    (80.0, 80.0, None)
    """
    if text is None:
        return None
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(mm|cm|m)?\s*", text)
    if not match:
        raise UserError(f"{option} '{text}' is not a length; write it like {option} 80mm")
    return float(match[1]) * {"mm": 1.0, "cm": 10.0, "m": 1000.0, None: 1.0}[match[2]]


ModelOpt = Annotated[
    Optional[str],
    noted_default("A 3-D preset (solid), its .onnx, or with --relief any 2-D model.", "solid", make=typer.Argument),
]
OutOpt = Annotated[
    Optional[Path],
    noted_default(
        "Output .glb, .ply, .obj or .stl (STL carries no recipe); .mp4, .gif or .webp films the mesh turning.",
        "MODEL-SEED-RES.glb",
        "--out",
        "-o",
    ),
]
ResOpt = Annotated[
    Optional[int], noted_default("Samples a side: the grid is RES^3 (a relief: RESxRES).", "128; relief 256")
]
LevelOpt = Annotated[Optional[float], noted_default("The density (0..1) where the surface lies.", "0.5")]
SizeOpt = Annotated[Optional[str], noted_default("The object's largest side, e.g. 80mm.", "80mm")]

ReliefOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--relief/--solid",
        help="A height field of a 2-D model's brightness, closed underneath.",
        show_default=False,
    ),
]

DepthOpt = Annotated[Optional[str], noted_default("Relief height above its base.", "4mm")]
BaseOpt = Annotated[Optional[str], noted_default("Relief base under its lowest point.", "1mm")]

SecondsOpt = Annotated[Optional[float], noted_default("A turntable's length in seconds.", "4")]
FpsOpt = Annotated[Optional[float], noted_default("A turntable's frames per second.", "30")]
FrameOpt = Annotated[Optional[str], noted_default("A turntable's frame size WIDTHxHEIGHT.", "480x480")]
ElevationOpt = Annotated[
    Optional[float], noted_default("Degrees above the horizon a turntable looks from.", "25; relief 40")
]
TurnsOpt = Annotated[Optional[int], noted_default("Times a turntable goes round.", "1")]

ZOpt = Annotated[Optional[Path], typer.Option("--z", help="Latent .npy of shape [Z].")]

FromFileOpt = Annotated[
    Optional[Path],
    typer.Option("--from", help="Make again from the recipe of a mesh (or, with --relief, a PNG) cppnart made."),
]


@app.command(
    epilog="Examples: cppnart mesh solid --seed 7 --res 256 -o solid.glb   ·   "
    "cppnart mesh classic --relief -o tile.stl   ·   cppnart mesh solid --seed 7 -o spin.mp4 --seconds 6"
)
@user_errors
@option_groups
def mesh(
    model: ModelOpt = None,
    out: OutOpt = None,
    res: ResOpt = None,
    level: LevelOpt = None,
    size: SizeOpt = None,
    relief: ReliefOpt = None,
    depth: DepthOpt = None,
    base: BaseOpt = None,
    seed: SeedOption = None,
    z: ZOpt = None,
    from_file: FromFileOpt = None,
    zoom: ZoomOption = None,
    center: CenterOption = None,
    tile: TileOption = None,
    seconds: SecondsOpt = None,
    fps: FpsOpt = None,
    frame: FrameOpt = None,
    elevation: ElevationOpt = None,
    turns: TurnsOpt = None,
    flags: OutputFlags = OutputFlags(),
) -> None:
    """Mesh a CPPN: a 3-D model's level surface by marching cubes in slabs, or a 2-D picture's relief;
    or film the mesh turning (-o spin.mp4)."""  # fmt: skip
    from ..render.mesh import resolve_mesh
    from ..render.request import read_recipe_file

    if out is not None:
        check_output(out, MESH_OUT + TURNTABLE_OUT)
    mesh_options = dict(
        recipe=read_recipe_file(from_file), seed=seed, z=z, res=res, level=level,
        size_mm=parse_mm(size, "--size"), relief=relief, depth_mm=parse_mm(depth, "--depth"),
        base_mm=parse_mm(base, "--base"), zoom=zoom, center=parse_center(center) if center else None, tile=tile,
        device=flags.device.value,
    )  # fmt: skip
    if out is not None and out.suffix.lower() in TURNTABLE_OUT:
        size_px = parse_res(frame, "--frame") if frame else None
        film(model, out, flags, mesh_options,
             dict(seconds=seconds, fps=fps, frame=size_px, elevation=elevation, turns=turns))  # fmt: skip
        return
    for name, value in (("--seconds", seconds), ("--fps", fps), ("--frame", frame), ("--elevation", elevation),
                        ("--turns", turns)):  # fmt: skip
        if value is not None:
            raise UserError(f"{name} is for a turntable; write -o NAME.mp4 (or .gif, .webp) to film the mesh turning")
    save(resolve_mesh(model, **mesh_options), out, flags)


def save(request: MeshRequest, out: Optional[Path], flags: OutputFlags) -> None:
    """Write the mesh file and say what it holds."""
    from ..render.mesh import SolidRequest, save_mesh

    planes = request.res if isinstance(request, SolidRequest) else 1
    with progress(planes, "sampling", not flags.silent) as advance:
        result = save_mesh(request, out, force=flags.force, on_planes=advance)
    grid = f"{request.res}^3" if isinstance(request, SolidRequest) else "relief"
    emit(
        {"path": str(result.path), "model": request.model.source, "seed": request.seed, "grid": grid,
         "vertices": result.vertices, "faces": result.faces, "volume_mm3": round(result.volume_mm3, 1)},
        f"seed {request.seed} · {request.model.label} · {grid} · {result.vertices} vertices, "
        f"{result.faces} faces, {result.volume_mm3 / 1000:.1f} cm³ -> {result.path}",
        flags.as_json,
        flags.quiet,
    )  # fmt: skip


def film(
    model: Optional[str], out: Path, flags: OutputFlags, mesh_options: dict[str, Any], options: dict[str, Any]
) -> None:
    """Build the mesh and write its turntable; say what it holds."""
    from ..render.mesh import SolidRequest
    from ..render.turntable import resolve_turntable, save_turntable

    request = resolve_turntable(model, **options, **mesh_options)
    planes = request.mesh.res if isinstance(request.mesh, SolidRequest) else 1
    with progress(planes + request.frame_count, "meshing, then filming", not flags.silent) as advance:
        result = save_turntable(request, out, force=flags.force, on_planes=advance, on_frame=advance)
    emit(
        {"path": str(result.path), "model": request.mesh.model.source, "seed": request.mesh.seed,
         "frames": result.frames, "fps": request.fps, "size": [request.width, request.height],
         "elevation": request.elevation, "turns": request.turns, "vertices": result.vertices, "faces": result.faces},
        f"seed {request.mesh.seed} · {request.mesh.model.label} · turntable of {result.faces} faces · "
        f"{result.frames} frames at {request.fps:g} fps, {request.width}x{request.height} -> {result.path}",
        flags.as_json,
        flags.quiet,
    )  # fmt: skip
