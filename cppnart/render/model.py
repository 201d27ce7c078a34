"""A loaded generator: an onnxruntime session plus the metadata its file carries.

``load_model`` accepts a bundled preset name, a preset TOML path (random weights from a seed),
an exported ``.onnx`` file, a training run folder holding ``model.onnx``, or a genome
(``.genome.json``, or Picbreeder's ``.xml`` / ``.zip``: see ``graph.genome``). Everything
downstream (render, morph, grid, info) works from a ``Model`` alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..configs.cppn import CPPNConfig
from ..configs.presets import load_preset, looks_like_path
from ..configs.schema import from_dict, to_dict
from ..configs.view import View
from ..errors import UserError
from ..latent.io import as_batch, sample_z
from .bands import check_finite_output, render_array, render_bands
from .canvas import DEFAULT_CHUNK, Canvas, chunk_for


def draw_seed() -> int:
    """A fresh random seed (below 2^31, so it reads well), printed and stored by whoever draws it."""
    import secrets  # here: it loads OpenSSL's hashlib, ~5 ms a render that names its seed never needs

    return secrets.randbelow(2**31)


@dataclass(repr=False)
class Model:
    """A generator ready to render: its ONNX bytes, the metadata they carry, and a lazy session.

    >>> load_model("classic", seed=7)
    Model('classic', kind=cppn, seed=7, z_dim=8, channels=3)
    """

    onnx_bytes: bytes
    metadata: dict[str, str]
    source: str  # what the user named: preset name, preset path or .onnx path
    device: str = "auto"
    threads: int | None = None  # onnxruntime's intra-op threads; None: every core this process may use
    _session: Any = field(default=None, repr=False)
    _default_chunk: int | None = field(default=None, repr=False)
    _genome: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The ONNX bytes would be megabytes of repr (1.3 MB for `wide`): show what identifies it.
        seed = f", seed={self.seed}" if self.seed is not None else ""
        return f"Model({self.label!r}, kind={self.kind}{seed}, z_dim={self.z_dim}, channels={self.channels})"

    def _repr_png_(self) -> bytes:
        """A 256x256 thumbnail of the seed's latent, for notebooks."""
        from ..io.png import encode_small_png, quantize

        width, height = self.native_size or (256, 256)
        return encode_small_png(quantize(self.render(None, width, height, seed=self.seed or 0)))

    def reseeded(self, seed: int) -> Model:
        """The same preset with the weights drawn from ``seed`` (a model file is returned as is)."""
        config = self.metadata.get("config")
        if not self.from_preset or not config:
            return self
        return model_from_table(json.loads(config), seed, self.source, self.device, "the model's config")

    # --- what the file says about itself -------------------------------------------------
    @property
    def kind(self) -> str:
        """The model kind its file names: cppn, genome, ganvae, glyph, fit, ... (cppn when unsaid)."""
        return self.metadata.get("kind", "cppn")

    @property
    def interface(self) -> str:
        """``coords`` (colour at coordinates, any size) or ``image`` (a fixed-size image per latent)."""
        return self.metadata.get("interface", "coords")

    @property
    def z_dim(self) -> int:
        """The size of one latent."""
        return int(self.metadata["z_dim"])

    @property
    def channels(self) -> int:
        """Colour channels it draws: 1 (grey) or 3."""
        return int(self.metadata["channels"])

    @property
    def preset(self) -> str:
        """The preset it was built from ('' when none)."""
        return self.metadata.get("preset", "")

    @property
    def seed(self) -> int | None:
        """The seed of its weights (a preset's, or a training run's), None when none was involved."""
        seed = self.metadata.get("seed", "")
        return int(seed) if seed else None

    @property
    def z_prior(self) -> str:
        """Where its latents come from: ``uniform`` on [-1, 1] or ``normal``."""
        return self.metadata.get("z_prior", "normal")

    @property
    def native_size(self) -> tuple[int, int] | None:
        """(width, height) of an image-interface model; None for coordinate generators."""
        size = self.metadata.get("image_size")
        return tuple(json.loads(size)) if size else None

    @property
    def from_preset(self) -> bool:
        """Random weights drawn from a preset and a seed (not a file): the seed picks the picture."""
        return not self.source.endswith(".onnx") and self.kind != "genome"

    @property
    def label(self) -> str:
        """Short name for file names and messages."""
        return self.preset or Path(self.source).stem

    @property
    def layer_width(self) -> int | None:
        """Units of the network's widest layer (its largest weight matrix), None for image models."""
        if self.interface != "coords":
            return None
        from ..graph.proto import read_model  # not onnx: its import alone costs 0.5-1.5 s (bench/startup.py)

        widths = [dims[1] for dims in read_model(self.onnx_bytes).initializer_dims if len(dims) == 2]
        return max(widths) if widths else None

    @property
    def default_chunk(self) -> int:
        """Coordinates per onnxruntime call when none is asked: fewer for wider networks (render.canvas.chunk_for)."""
        if self._default_chunk is None:
            width = self.layer_width
            self._default_chunk = chunk_for(width) if width else DEFAULT_CHUNK
        return self._default_chunk

    @property
    def session(self) -> Any:
        """Its onnxruntime session, created on first use (on ``device``, with ``threads``)."""
        if self._session is None:
            from .runtime import create_session

            self._session = create_session(self.onnx_bytes, self.device, self.threads)
        return self._session

    # --- latents and rendering ----------------------------------------------------------
    def sample_z(self, seed: int, count: int = 1) -> np.ndarray:
        """Latents [count, Z] from the model's prior (uniform [-1, 1] for random CPPN art); a genome
        that stores its own latent (a bred picture) shows that one whatever the seed."""
        own = self.genome.z if self.genome is not None else ()
        if own:
            return np.tile(np.asarray(own, np.float32), (count, 1))
        return sample_z(self.z_dim, seed, self.z_prior, count)

    @property
    def seed_draws_z(self) -> bool:
        """Whether a seed picks this model's latent (not for a genome that stores its own)."""
        return self.z_dim > 0 and not (self.genome is not None and self.genome.z)

    @property
    def genome(self) -> Any:
        """The ``graph.genome.Genome`` of a genome model (from its metadata), else None."""
        if self.kind != "genome" or "genome" not in self.metadata:
            return None
        if self._genome is None:
            from ..graph.genome import genome_from_json

            self._genome = genome_from_json(self.metadata["genome"], f"the genome in '{self.source}'")
        return self._genome

    def check_z(self, z: np.ndarray, what: str = "z") -> np.ndarray:
        """``z`` as a float32 batch [B, Z] of this model's size, or a one-line error naming ``what``."""
        return as_batch(z, self.z_dim, what)

    def canvas(
        self, width: int, height: int, view: View = View(), supersample: int = 1, chunk: int | None = None
    ) -> Canvas:
        """The ``Canvas`` of a render of this model: ``chunk`` None becomes the model's default."""
        return Canvas(width, height, view, supersample, chunk or self.default_chunk)

    def bands(
        self,
        z: np.ndarray,
        width: int,
        height: int,
        view: View = View(),
        supersample: int = 1,
        chunk: int | None = None,
        on_rows=None,
    ):
        """Float bands [B, rows, W, C] top to bottom (bounded memory; see render.render_bands)."""
        return self.canvas_bands(z, self.canvas(width, height, view, supersample, chunk), on_rows)

    def canvas_bands(self, z: np.ndarray, canvas: Canvas, on_rows=None):
        """``bands`` of a ``Canvas``: what every renderer asks of the model."""
        if self.interface != "coords":
            bands = self._image_bands(z, canvas.width, canvas.height, on_rows)
        else:
            bands = render_bands(self.session, self.check_z(z), canvas, on_rows=on_rows)
        return self._checked(bands)

    def _checked(self, bands):
        """Each band has the channels the metadata promises (a file that lies would write a PNG
        nothing can decode) and only finite values."""
        for band in bands:
            if band.shape[-1] != self.channels:
                raise UserError(
                    f"'{self.source}' says it draws {self.channels} channels but draws {band.shape[-1]}; "
                    "the file's metadata is wrong: export it again"
                )
            yield band

    def render(
        self,
        z: np.ndarray | None = None,
        width: int = 512,
        height: int = 512,
        view: View = View(),
        supersample: int = 1,
        chunk: int | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """Float32 pixels in [0, 1]: [H, W, C] for one latent, [B, H, W, C] for a batch.

        Without ``z`` the latent drawn from ``seed`` is used (the one `cppnart render --seed` uses).
        """
        if z is None:
            z = self.sample_z(seed)
        single = np.asarray(z).ndim == 1 or np.asarray(z).shape[0] == 1
        if self.interface != "coords":
            out = np.concatenate(list(self._image_bands(z, width, height)), axis=1)
        else:
            out = render_array(self.session, self.check_z(z), self.canvas(width, height, view, supersample, chunk))
        out = next(self._checked(iter([out])))
        return out[0] if single else out

    def render_image(self, z: np.ndarray | None = None, width: int = 512, height: int = 512, **kwargs: Any):
        """A PIL image (8-bit) of one latent."""
        from PIL import Image

        from ..io.png import quantize

        pixels = quantize(self.render(z, width, height, **kwargs))
        return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)

    def _image_bands(self, z: np.ndarray, width: int, height: int, on_rows=None):
        """Image-interface models (conv glyphs) draw a fixed size; resize to the asked size."""
        from PIL import Image

        z = self.check_z(z)
        images = check_finite_output(self.session.run(None, {"z": z})[0])  # [B, C, h, w]
        images = np.clip(images.transpose(0, 2, 3, 1), 0, 1).astype(np.float32)
        if images.shape[1:3] != (height, width):
            resized = []
            for image in images:
                channels = [
                    np.asarray(Image.fromarray(image[..., c]).resize((width, height), Image.Resampling.LANCZOS))
                    for c in range(image.shape[-1])
                ]
                resized.append(np.stack(channels, axis=-1))
            images = np.clip(np.stack(resized), 0, 1).astype(np.float32)
        if on_rows is not None:
            on_rows(height)
        yield images


# --- loading ------------------------------------------------------------------------------


def _read_onnx(path: Path) -> tuple[bytes, dict[str, str]]:
    from ..graph.proto import read_model  # what the checks need, without onnx's 0.5-1.5 s import
    from .onnx_checks import MAX_MODEL_BYTES, check_generator

    try:
        if path.stat().st_size > MAX_MODEL_BYTES:
            raise UserError(f"'{path}' is larger than an ONNX file can be ({MAX_MODEL_BYTES >> 30} GiB)")
        data = path.read_bytes()
        proto = read_model(data)
    except OSError as exc:
        raise UserError(f"cannot read model file '{path}': {exc.strerror}") from None
    except UserError:
        raise
    except ValueError:  # graph.proto.DecodeError, or text that is not UTF-8
        raise UserError(f"'{path}' is not a valid ONNX file (corrupt or truncated); export it again") from None
    return data, check_generator(proto, str(path))


def model_from_config(config: CPPNConfig, seed: int, source: str, device: str = "auto") -> Model:
    """Random weights for a CPPN config, as an in-memory ONNX model."""
    from ..graph.export import cppn_model_bytes
    from ..graph.proto import read_model
    from ..graph.weights import random_weights

    data = cppn_model_bytes(
        random_weights(config, seed), preset=config.name, seed=seed, config=to_dict(config), z_prior=config.z_prior
    )
    return Model(data, read_model(data).metadata, source, device)


def model_from_genome(genome: Any, source: str, device: str = "auto") -> Model:
    """A genome (``graph.genome.Genome``) compiled to an in-memory ONNX model."""
    from ..graph.genome_onnx import genome_model

    label = Path(source).name
    for suffix in (".genome.json", ".json", ".xml", ".zip"):
        label = label.removesuffix(suffix)
    proto = genome_model(genome, label)
    metadata = {p.key: p.value for p in proto.metadata_props}
    return Model(proto.SerializeToString(), metadata, source, device, _genome=genome)


def load_model(source: str | Path, seed: int | None = None, device: str = "auto") -> Model:
    """Load a generator. For presets a seed picks the weights (drawn when None: see ``Model.seed``)."""
    from ..graph.genome_io import is_genome_path, read_genome

    source = str(source)
    path = Path(source)
    if is_genome_path(source):
        return model_from_genome(read_genome(path), source, device)
    if path.is_dir():
        if not (path / "model.onnx").is_file():
            raise UserError(f"folder '{source}' holds no model.onnx; train or export a model into it first")
        path = path / "model.onnx"
    if path.suffix == ".onnx" or path.name == "model.onnx":
        if not path.is_file():
            raise UserError(f"model file '{source}' not found")
        data, metadata = _read_onnx(path)
        return Model(data, metadata, str(path), device)
    config = load_preset(source)
    if config.kind == "solid":
        raise UserError(f"preset '{source}' is a 3-D model; make a mesh of it: `cppnart mesh {source} -o out.glb`")
    if not isinstance(config, CPPNConfig):
        raise UserError(
            f"preset '{source}' is a training recipe (kind '{config.kind}'); train it with "
            f"`cppnart train {config.kind} --preset {source}` and render the model.onnx it writes"
        )
    if looks_like_path(source):
        source = str(Path(source).resolve())
    return model_from_config(config, draw_seed() if seed is None else seed, source, device)


def model_from_table(table: dict[str, Any], seed: int, source: str, device: str, where: str) -> Model:
    """Random weights for a CPPN config given as a table (a model's metadata, an image's recipe)."""
    config = from_dict(CPPNConfig, table, where)
    config.validate(where)
    return model_from_config(config, seed, source, device)


def model_from_recipe(recipe: dict[str, Any], device: str = "auto") -> Model:
    """Rebuild the model an image was made with, from the recipe in its PNG metadata."""
    if isinstance(recipe.get("genome"), dict):  # the genome travels with the image: no file needed
        from ..graph.genome import genome_from_dict

        genome = genome_from_dict(recipe["genome"], "the genome in the image's recipe")
        return model_from_genome(genome, str(recipe.get("model") or "genome"), device)
    config = recipe.get("config")
    if isinstance(config, dict) and config.get("kind", "cppn") == "cppn" and recipe.get("seed") is not None:
        # The full architecture travels with the image: it renders again even if the preset file moved.
        name = str(recipe.get("model", config.get("name", "cppn")))
        return model_from_table(config, int(recipe["seed"]), name, device, "the image's recipe")
    source = recipe.get("model")
    if not source:
        raise UserError("the image's recipe names no model; pass MODEL explicitly")
    if str(source).endswith(".onnx") and not Path(source).is_file():
        raise UserError(
            f"model file '{source}' named in the image's recipe is not there any more; pass MODEL explicitly"
        )
    return load_model(source, recipe.get("seed"), device)
