"""`cppnart z ...`: latent vectors as .npy files: sample, mix, lerp, get, encode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..configs.presets import DEFAULT_PRESET
from ..errors import UserError
from .options import (
    Ease,
    EaseOption,
    ForceOption,
    JsonOption,
    NpyOut,
    PathKind,
    PathOption,
    Prior,
    QuietOption,
    option_groups,
)
from .output import check_output, emit, user_errors

app = typer.Typer(
    help="Latent vectors as .npy files: sample, mix, interpolate, read back, encode, fit.", no_args_is_help=True
)

MAX_LERP_STEPS = 1_000_000  # latents held in memory and written to one file


@dataclass(frozen=True)
class LatentOut:
    """Where every z command writes and what it says: -o FILE.npy (checked when the command
    starts, before any work), --json, --quiet."""

    out: NpyOut
    as_json: JsonOption = False
    quiet: QuietOption = False
    force: ForceOption = False

    @property
    def silent(self) -> bool:
        """No prose or progress on stderr: --json or --quiet."""
        return self.as_json or self.quiet

    def __post_init__(self) -> None:
        check_output(self.out, (".npy",))

    def write(self, z: Any, note: str = "", **extra: Any) -> None:
        """Save the latent(s) and say what went where: one latent as [Z], several as [B, Z]."""
        from ..latent.io import save_z

        save_z(self.out, z, self.force)
        shape = [z.shape[1]] if z.shape[0] == 1 else [z.shape[0], z.shape[1]]
        prefix = f"seed {extra['seed']} · " if extra.get("seed") is not None else ""
        data = {"path": str(self.out), "shape": shape, **extra, "z": z.tolist()}
        emit(data, f"{prefix}z {shape}{note} -> {self.out}", self.as_json, self.quiet)


DimOption = Annotated[Optional[int], typer.Option(help="Latent size (instead of --model).")]
SampleModelOption = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        "-m",
        help=f"Take size and prior from this model or preset. \\[default: {DEFAULT_PRESET}]",
        show_default=False,
    ),
]
PriorOption = Annotated[
    Optional[Prior],  # type: ignore[valid-type]
    typer.Option(help="uniform [-1, 1] or standard normal. \\[default: the model's]", show_default=False),
]
FromDataOption = Annotated[
    bool,
    typer.Option(
        "--from-data",
        help="Draw from the gaussian fitted to a `train ganvae` run's encoded training images (--model RUN).",
    ),
]
MixtureOption = Annotated[
    Optional[int],
    typer.Option(help="With --from-data: a mixture of K gaussians fitted to the run's latents (EM) instead of one."),
]


@app.command("sample", epilog="Example: cppnart z sample --model classic --seed 3 -o z.npy")
@user_errors
@option_groups
def sample(
    output: LatentOut,
    dim: DimOption = None,
    model: SampleModelOption = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed; drawn and printed when omitted.")] = None,
    count: Annotated[int, typer.Option(help="How many latents (shape [COUNT, Z] when above 1).")] = 1,
    prior: PriorOption = None,
    from_data: FromDataOption = False,
    mixture: MixtureOption = None,
) -> None:
    """Write random latent vector(s) to a .npy file. With the same --seed, `cppnart render` draws this z."""
    from ..latent.io import sample_z
    from ..render.model import draw_seed, load_model

    if dim is not None and model is not None:
        raise UserError("give either --dim or --model, not both")
    seed = draw_seed() if seed is None else seed
    if from_data:
        from ..render.encoder import sample_from_data

        if model is None or dim is not None or prior is not None:
            raise UserError(
                "--from-data takes its latents from a trained run: give --model RUN, without --dim or --prior"
            )
        if mixture is not None:
            from ..render.encoder import sample_from_mixture

            z = sample_from_mixture(model, seed, count, mixture)
            output.write(z, f" from a {mixture}-gaussian mixture of the data's latents", seed=seed, mixture=mixture)
            return
        output.write(sample_from_data(model, seed, count), " from the data's latents", seed=seed)
        return
    if mixture is not None:
        raise UserError("--mixture fits the data's latents: give it with --from-data --model RUN")
    if dim is None:
        net = load_model(model or DEFAULT_PRESET, seed=0)
        dim, default_prior = net.z_dim, net.z_prior
    else:
        default_prior = "uniform"
    output.write(sample_z(dim, seed, prior.value if prior else default_prior, count), seed=seed)


@app.command(
    "mix",
    epilog='Examples: cppnart z mix "z9.npy + (after.npy - before.npy)" -o z9-alter.npy\n\n'
    "cppnart z mix --base z9.npy --add after.npy --sub before.npy --strength 1.5 -o out.npy",
)
@user_errors
@option_groups
def mix(
    output: LatentOut,
    expression: Annotated[
        Optional[str],
        typer.Argument(
            help="Arithmetic over latent files and numbers: + - between latents, * / by numbers, parentheses. "
            "Operands are .npy files or PNGs cppnart made; quote names with spaces.",
            show_default=False,
        ),
    ] = None,
    base: Annotated[Optional[Path], typer.Option(help="Flag form: the latent to start from.")] = None,
    add: Annotated[Optional[list[Path]], typer.Option(help="Flag form: latents to add (repeatable).")] = None,
    sub: Annotated[Optional[list[Path]], typer.Option(help="Flag form: latents to subtract (repeatable).")] = None,
    strength: Annotated[
        float, typer.Option(help="Flag form: scales (added - subtracted) before it joins --base.")
    ] = 1.0,
) -> None:
    """Latent arithmetic, as in [Large images]: z_9 + (z_1_after - z_1_before) moves a 9 the way a 1 changed."""
    from ..latent.mix import mix_expression, mix_terms

    if expression is not None and (base is not None or add or sub):
        raise UserError("give either an expression or --base/--add/--sub, not both")
    if expression is not None:
        z = mix_expression(expression)
    elif base is not None:
        if not (add or sub):
            raise UserError("--base needs at least one --add or --sub latent")
        z = mix_terms(base, list(add or []), list(sub or []), strength)
    else:
        raise UserError('give an expression like "z9.npy + (after.npy - before.npy)" or --base with --add/--sub')
    output.write(z)


@app.command("lerp", epilog="Example: cppnart z lerp a.npy b.npy --steps 8 --path slerp -o between.npy")
@user_errors
@option_groups
def lerp(
    start: Annotated[Path, typer.Argument(help="First latent (.npy, or a PNG cppnart made).")],
    end: Annotated[Path, typer.Argument(help="Last latent.")],
    output: LatentOut,
    steps: Annotated[int, typer.Option(help="How many latents to write, both ends included: shape [STEPS, Z].")] = 5,
    t: Annotated[
        Optional[float],
        typer.Option("--t", help="Write the single latent at this fraction (0 = start, 1 = end) instead."),
    ] = None,
    path: PathOption = PathKind.slerp,  # type: ignore[attr-defined]
    ease: EaseOption = Ease.linear,  # type: ignore[attr-defined]
) -> None:
    """Write latents between two others: feed them to `cppnart grid` or `cppnart morph`."""
    import numpy as np

    from ..latent.files import read_latents
    from ..latent.paths import ease as ease_fn
    from ..latent.paths import interpolate

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
        if not 2 <= steps <= MAX_LERP_STEPS:
            raise UserError(f"--steps must be between 2 (both ends) and {MAX_LERP_STEPS}, got {steps}")
        weights = ease_fn(ease.value, np.linspace(0.0, 1.0, steps))
    output.write(interpolate(a[0], b[0], weights, path.value), f" ({path.value})")


@app.command("get", epilog="Examples: cppnart z get poster.png -o z.npy    cppnart z get sheet.png --cell 5 -o z5.npy")
@user_errors
@option_groups
def get(
    image: Annotated[Path, typer.Argument(help="A PNG cppnart made: a render, a PNG morph frame, or a grid sheet.")],
    output: LatentOut,
    cell: Annotated[
        Optional[int],
        typer.Option(help="For a grid sheet: the cell number shown in its label (all cells when omitted)."),
    ] = None,
) -> None:
    """Read the latent(s) an image was rendered from, back into a .npy file."""
    from ..latent.files import read_latents

    z = read_latents(image)
    if cell is not None:
        if not (0 <= cell < z.shape[0]):
            raise UserError(f"--cell {cell} is out of range; '{image}' has cells 0 to {z.shape[0] - 1}")
        z = z[cell : cell + 1]
    output.write(z)


@app.command("encode", epilog="Example: cppnart z encode digit.png --model runs/digits -o z.npy")
@user_errors
@option_groups
def encode(
    images: Annotated[list[Path], typer.Argument(help="Image file(s); several give z of shape [B, Z].")],
    model: Annotated[Path, typer.Option("--model", "-m", help="A `train ganvae` run folder (or its model.onnx).")],
    output: LatentOut,
    invert: Annotated[
        Optional[bool],
        typer.Option(
            "--invert/--no-invert",
            help="Swap dark and light (training digits are white on black). \\[default: when the border is bright]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Encode images to latent vectors with a trained run's encoder (its mean); no torch needed."""
    import numpy as np

    from ..render.encoder import RunEncoder

    encoder = RunEncoder(model)
    z = encoder.encode(np.stack([encoder.load(path, invert) for path in images]))
    output.write(z, f" from {len(images)} image(s)")


def _fit_both(generators: tuple[Any, Any], wanted: Any, steps: int, seed: int, restarts: int, quiet: bool) -> list[Any]:
    """The trained generator's fit, then its random twin's, under one progress bar of 2 x steps."""
    from ..train.zfit import fit_latents
    from .live import LiveView

    fits = []
    with LiveView(f"z fit · {len(wanted)} image(s) × {restarts} starts", 2 * steps, quiet=quiet) as view:
        for done, (generator, which) in enumerate(zip(generators, ("trained", "random twin"))):
            report = lambda step, loss, at=done * steps, which=which: view.update(
                at + step, {"loss": loss, "fitting": which}
            )
            fits.append(fit_latents(generator, wanted, steps=steps, seed=seed, restarts=restarts, on_step=report))
    return fits


FIT_MODEL_HELP = (
    "A glyph or ganvae run folder, a CPPN preset (with --seed), or a genome with z inputs "
    "(a genome file, a PNG of one, a genome .onnx, a `train fit --init` run)."
)


@app.command(
    "fit",
    epilog="Examples: cppnart z fit builtin:digits --count 8 --model runs/glyphs -o z.npy --sheet fit.png    "
    "cppnart z fit photo.jpg --model sine --seed 3 -o z.npy",
)
@user_errors
@option_groups
def fit(
    targets: Annotated[
        list[str], typer.Argument(help="Image file(s), or one data source: builtin:digits, an IDX file, a folder.")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help=FIT_MODEL_HELP)],
    output: LatentOut,
    seed: Annotated[int, typer.Option(help="A preset's weight seed (and the random starts' seed).")] = 0,
    count: Annotated[int, typer.Option(help="Images to take from a data source.")] = 8,
    size: Annotated[
        Optional[int],
        typer.Option(help="Side the targets are fitted at. \\[default: the run's training size; 64 for presets]"),
    ] = None,
    steps: Annotated[int, typer.Option(help="Adam steps on the latents.")] = 300,
    restarts: Annotated[int, typer.Option(help="Random starts per image; the best is kept.")] = 4,
    sheet: Annotated[
        Optional[Path],
        typer.Option(help="Also write a sheet: targets, the model's fits, a frozen random twin's fits (rows)."),
    ] = None,
) -> None:
    """Latents that make a frozen generator draw given images, against a random generator of its shape.

    The experiment of [Glyphs]: the gap between the trained and the random generator's error says
    how much training put such images within the generator's reach. The latents render with the
    model as any others do (`cppnart render MODEL --z z.npy`).
    """
    import numpy as np

    from .train import require_torch

    if sheet is not None:
        check_output(sheet, (".png",))
    if not 1 <= count <= 256:
        raise UserError(f"--count must be between 1 and 256, got {count}")
    require_torch()
    from ..io.images import images_at
    from ..render.sheets import save_sheet
    from ..train.zfit import load_generators
    from .live import drawing_progress

    trained, twin = load_generators(model, seed, size)
    with drawing_progress(not output.silent):
        wanted = images_at(targets, trained.channels, trained.size, count).images
    fits = _fit_both((trained, twin), wanted, steps, seed, restarts, quiet=output.silent)
    fresh_sheet = sheet is not None and not sheet.exists()
    try:  # the latents and the sheet are one result: a failure of either leaves neither new file
        if sheet is not None:
            rows = np.concatenate([wanted.transpose(0, 2, 3, 1), fits[0].images, fits[1].images])
            names = [n if i == 0 else "" for n in ("target", "fit", "random twin") for i in range(len(wanted))]
            upscale = max(1, 96 // trained.size)
            save_sheet(sheet, rows, cols=len(wanted), upscale=upscale, labels=names, background=0.1)
        _write_fit(output, fits, len(wanted), trained, twin)
    except BaseException:
        if fresh_sheet and sheet is not None:
            sheet.unlink(missing_ok=True)
        raise


def _write_fit(output: LatentOut, fits: list[Any], count: int, trained: Any, twin: Any) -> None:
    """The fitted latents to -o and the line (or JSON) that reports them."""
    output.write(
        fits[0].z,
        f" · MSE {fits[0].loss:.4f} (frozen random twin {fits[1].loss:.4f}) over {count} image(s)",
        mse=fits[0].loss,
        mse_random=fits[1].loss,
        model=trained.name,
        random_twin=twin.name,
    )


@app.command("map", epilog="Example: cppnart z map runs/fashion --out runs/fashion-map")
@user_errors
def latent_map_command(
    run: Annotated[str, typer.Argument(help="A `train ganvae` run folder (its encoder and generator).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for map.png, grid.png and map.json.")],
    data: Annotated[
        Optional[str],
        typer.Option(help="Images to map (a folder, an IDX file, builtin:digits). \\[default: the run's]"),
    ] = None,
    count: Annotated[int, typer.Option(help="Images to encode.")] = 2000,
    grid: Annotated[int, typer.Option(help="Grid points a side, decoded into grid.png.")] = 12,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """The map of a run's latent space: its data's latents in 2-D (PCA), by class, with their density,
    and what a grid over the map decodes to, the gaps included."""
    from ..render.latent_map import map_run

    found = map_run(run, out, data=data, count=count, grid=grid)
    explained = sum(found["explained_variance"])
    text = (
        f"{found['count']} latents of {found['data']} on 2 axes ({explained:.0%} of their variance); "
        f"{found['gaps']} of {grid * grid} grid cells are gaps -> {out / 'map.png'}, {out / 'grid.png'}, "
        f"{out / 'map.json'}"
    )
    keep = ("model", "data", "count", "grid", "projection", "explained_variance", "gaps", "class_centres")
    emit({"out": str(out), **{k: found[k] for k in keep}}, text, as_json, quiet)
