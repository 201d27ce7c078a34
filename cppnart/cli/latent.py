"""`cppnart z ...`: latent vectors as .npy files."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..config import DEFAULT_PRESET
from ..errors import UserError
from .common import check_output, user_errors

z_app = typer.Typer(help="Latent vectors: sample, and (with other commands) mix, interpolate, encode.",
                    no_args_is_help=True)


class Prior(str, Enum):
    uniform = "uniform"
    normal = "normal"


@z_app.command("sample", epilog="Example: cppnart z sample --model classic --seed 3 -o z.npy")
@user_errors
def sample(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .npy file.")],
    dim: Annotated[Optional[int], typer.Option(help="Latent size (instead of --model).")] = None,
    model: Annotated[Optional[str], typer.Option(help=f"Take size and prior from this model or preset. \\[default: {DEFAULT_PRESET}]", show_default=False)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed; drawn and printed when omitted.")] = None,
    count: Annotated[int, typer.Option(help="How many latents (shape [COUNT, Z] when above 1).")] = 1,
    prior: Annotated[Optional[Prior], typer.Option(help="uniform [-1, 1] or standard normal. \\[default: the model's]", show_default=False)] = None,
    from_data: Annotated[bool, typer.Option("--from-data", help="Draw from the gaussian fitted to a `train ganvae` run's encoded training images (--model RUN).")] = False,
) -> None:
    """Write random latent vector(s) to a .npy file. With the same --seed, `cppnart render` draws this z."""
    from ..latent import sample_z, save_z
    from ..model import draw_seed, load_model

    check_output(out, (".npy",))
    if dim is not None and model is not None:
        raise UserError("give either --dim or --model, not both")
    seed = draw_seed() if seed is None else seed
    if from_data:
        from ..encoder import sample_from_data

        if model is None or dim is not None or prior is not None:
            raise UserError("--from-data takes its latents from a trained run: give --model RUN, without --dim or --prior")
        z = sample_from_data(model, seed, count)
        save_z(out, z)
        typer.echo(f"seed {seed} · z {list(z.shape) if count > 1 else [z.shape[1]]} from the data's latents -> {out}")
        return
    if dim is None:
        net = load_model(model or DEFAULT_PRESET, seed=0)
        dim, default_prior = net.z_dim, net.z_prior
    else:
        default_prior = "uniform"
    z = sample_z(dim, seed, prior.value if prior else default_prior, count)
    save_z(out, z)
    typer.echo(f"seed {seed} · z {list(z.shape) if count > 1 else [dim]} -> {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(z_app, name="z")
