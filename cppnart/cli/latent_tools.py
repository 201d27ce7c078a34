"""`cppnart z mix`, `z lerp`, `z get`: latent arithmetic, in-betweens, latents out of images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from .common import check_output, user_errors
from .latent import z_app
from .morph import Ease, PathKind

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")]


def _write(out: Path, z, note: str = "") -> None:
    """Save the latent(s) and say what went where: one latent as [Z], several as [B, Z]."""
    from ..latent import save_z

    save_z(out, z)
    shape = f"[{z.shape[1]}]" if z.shape[0] == 1 else f"[{z.shape[0]}, {z.shape[1]}]"
    typer.echo(f"z {shape}{note} -> {out}")


@z_app.command("mix", epilog='Examples: cppnart z mix "z9.npy + (after.npy - before.npy)" -o z9-alter.npy\n\n'
                             "cppnart z mix --base z9.npy --add after.npy --sub before.npy --strength 1.5 -o out.npy")
@user_errors
def mix(
    out: OutOption,
    expression: Annotated[Optional[str], typer.Argument(
        help="Arithmetic over latent files and numbers: + - between latents, * / by numbers, parentheses. "
             "Operands are .npy files or PNGs cppnart made; quote names with spaces.", show_default=False)] = None,
    base: Annotated[Optional[Path], typer.Option(help="Flag form: the latent to start from.")] = None,
    add: Annotated[Optional[list[Path]], typer.Option(help="Flag form: latents to add (repeatable).")] = None,
    sub: Annotated[Optional[list[Path]], typer.Option(help="Flag form: latents to subtract (repeatable).")] = None,
    strength: Annotated[float, typer.Option(help="Flag form: scales (added - subtracted) before it joins --base.")] = 1.0,
) -> None:
    """Latent arithmetic, as in seed 002: z_9 + (z_1_after - z_1_before) moves a 9 the way a 1 changed."""
    from ..latent import mix_expression, mix_terms

    check_output(out, (".npy",))
    flags = base is not None or add or sub
    if expression is not None and flags:
        raise UserError("give either an expression or --base/--add/--sub, not both")
    if expression is not None:
        z = mix_expression(expression)
    elif base is not None:
        if not (add or sub):
            raise UserError("--base needs at least one --add or --sub latent")
        z = mix_terms(base, add or [], sub or [], strength)
    else:
        raise UserError('give an expression like "z9.npy + (after.npy - before.npy)" or --base with --add/--sub')
    _write(out, z)


@z_app.command("lerp", epilog="Example: cppnart z lerp a.npy b.npy --steps 8 --path slerp -o between.npy")
@user_errors
def lerp(
    start: Annotated[Path, typer.Argument(help="First latent (.npy, or a PNG cppnart made).")],
    end: Annotated[Path, typer.Argument(help="Last latent.")],
    out: OutOption,
    steps: Annotated[int, typer.Option(help="How many latents to write, both ends included: shape [STEPS, Z].")] = 5,
    t: Annotated[Optional[float], typer.Option("--t", help="Write the single latent at this fraction (0 = start, 1 = end) instead.")] = None,
    path: Annotated[PathKind, typer.Option("--path", help="slerp keeps a typical length; lerp is the straight line.")] = PathKind.slerp,
    ease: Annotated[Ease, typer.Option(help="Spacing of the steps along the path.")] = Ease.linear,
) -> None:
    """Write latents between two others: feed them to `cppnart grid` or `cppnart morph`."""
    import numpy as np

    from ..latent import ease as ease_fn
    from ..latent import interpolate, read_latents

    check_output(out, (".npy",))
    a = read_latents(start)
    b = read_latents(end, a.shape[1])
    for name, z in ((start, a), (end, b)):
        if z.shape[0] != 1:
            raise UserError(f"'{name}' holds {z.shape[0]} latents; z lerp takes one latent at each end")
    if t is not None:
        if not (0.0 <= t <= 1.0):  # also false for NaN
            raise UserError(f"--t must be between 0 and 1, got {t}")
        weights = np.array([t])
    else:
        if steps < 2:
            raise UserError(f"--steps must be at least 2 (both ends), got {steps}")
        weights = ease_fn(ease.value, np.linspace(0.0, 1.0, steps))
    z = interpolate(a[0], b[0], weights, path.value)
    _write(out, z, f" ({path.value})")


@z_app.command("get", epilog="Examples: cppnart z get poster.png -o z.npy    cppnart z get sheet.png --cell 5 -o z5.npy")
@user_errors
def get(
    image: Annotated[Path, typer.Argument(help="A PNG cppnart made: a render, a PNG morph frame, or a grid sheet.")],
    out: OutOption,
    cell: Annotated[Optional[int], typer.Option(help="For a grid sheet: the cell number shown in its label (all cells when omitted).")] = None,
) -> None:
    """Read the latent(s) an image was rendered from, back into a .npy file."""
    from ..latent import read_latents

    check_output(out, (".npy",))
    z = read_latents(image)
    if cell is not None:
        if not (0 <= cell < z.shape[0]):
            raise UserError(f"--cell {cell} is out of range; '{image}' has cells 0 to {z.shape[0] - 1}")
        z = z[cell : cell + 1]
    _write(out, z)


def register(app: typer.Typer) -> None:
    """The commands above attach themselves to `cppnart z` when this module is imported."""
