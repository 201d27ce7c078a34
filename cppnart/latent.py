"""Latent vectors: sample, load and save ``.npy`` files (float32, shape [Z] or [B, Z])."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import numpy as np

from .errors import UserError
from .writers import atomic_output


def latent_rng(seed: int) -> np.random.Generator:
    # A stream of its own, so `z sample --seed S` gives the z that `render --seed S` draws.
    return np.random.default_rng([seed, 1])


def sample_z(dim: int, seed: int, prior: str = "uniform", count: int = 1) -> np.ndarray:
    """``count`` latents [count, dim]: uniform in [-1, 1] (seed 003) or standard normal."""
    if dim < 1:
        raise UserError(f"latent size must be at least 1, got {dim}")
    if count < 1:
        raise UserError(f"number of latents must be at least 1, got {count}")
    rng = latent_rng(seed)
    if prior == "uniform":
        z = rng.uniform(-1.0, 1.0, size=(count, dim))
    elif prior == "normal":
        z = rng.standard_normal((count, dim))
    else:
        raise UserError(f"unknown latent prior '{prior}'; choose uniform or normal")
    return z.astype(np.float32)


def as_batch(z: np.ndarray, z_dim: int, what: str = "z") -> np.ndarray:
    """Validate a latent array against a model: [Z] or [B, Z], finite; returns [B, Z] float32."""
    z = np.asarray(z)
    if z.dtype.kind not in "fiu":
        raise UserError(f"{what} holds {z.dtype} values; a latent must be an array of numbers")
    if z.ndim == 1:
        z = z[None, :]
    if z.ndim != 2 or z.shape[0] < 1:
        raise UserError(f"{what} has shape {tuple(z.shape)}; a latent must have shape [{z_dim}] or [B, {z_dim}]")
    if z.shape[1] != z_dim:
        raise UserError(f"{what} has {z.shape[1]} values but the model takes z of size {z_dim}")
    if not np.isfinite(z).all():
        raise UserError(f"{what} contains NaN or infinite values")
    return z.astype(np.float32)


def load_z(path: str | Path, z_dim: int | None = None) -> np.ndarray:
    """Read a latent ``.npy`` safely (no pickles) and check it; returns [B, Z] float32."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"latent file '{path}' not found")
    try:
        z = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UserError(f"latent file '{path}' holds pickled Python objects; save a numeric array with np.save") from None
        raise UserError(f"latent file '{path}' is not a valid .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise UserError(f"latent file '{path}' is not a valid .npy array ({exc})") from None
    if not isinstance(z, np.ndarray):
        raise UserError(f"latent file '{path}' holds several arrays; save one array per .npy file")
    return as_batch(z, z_dim if z_dim is not None else (z.shape[-1] if z.ndim else 0), what=f"latent file '{path}'")


def save_z(path: str | Path, z: np.ndarray) -> Path:
    """Write a latent atomically; a single latent is stored with shape [Z]."""
    z = np.asarray(z, dtype=np.float32)
    if z.ndim == 2 and z.shape[0] == 1:
        z = z[0]
    buffer = io.BytesIO()
    np.save(buffer, z, allow_pickle=False)
    with atomic_output(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return Path(path)


# --- interpolation ------------------------------------------------------------------------

EASINGS = ("linear", "sine", "smooth")
PATHS = ("lerp", "slerp")


def ease(name: str, p: np.ndarray | float) -> np.ndarray:
    """Map progress p in [0, 1] to interpolation weight t in [0, 1].

    linear: t = p. sine: t = sin(p·π/2), seed 002's "sinusoid" morph: it leaves the start
    quickly and settles slowly onto the next keyframe. smooth: t = (1 - cos(p·π)) / 2, an
    ease-in-out that starts and stops at rest, so keyframes and loops show no jolt.
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    if name == "linear":
        return p
    if name == "sine":
        return np.sin(p * np.pi / 2)
    if name == "smooth":
        return (1.0 - np.cos(p * np.pi)) / 2
    raise UserError(f"unknown easing '{name}'; choose {', '.join(EASINGS)}")


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Straight line a -> b. For t an array of shape [N], returns [N, Z]."""
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    t = np.asarray(t, np.float64)
    return (a + (b - a) * t[..., None]).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Great-circle path a -> b: the direction turns at constant angular speed while the length
    goes linearly from |a| to |b|.

    A straight line between two gaussian latents cuts through the middle of the ball, where
    the norm dips (to ~0.71 x at the midpoint for independent vectors) and the network sees
    latents it was never trained on; this path keeps every step at a typical norm.
    """
    a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    t = np.asarray(t, np.float64)[..., None]
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:  # a zero vector has no direction to turn from
        return lerp(a, b, t[..., 0])
    ua, ub = a / na, b / nb
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6:  # (nearly) parallel: the great circle is the straight line
        direction = ua + (ub - ua) * t
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    elif np.pi - omega < 1e-6:
        raise UserError("the two latents point in opposite directions, so slerp has no unique path; use --path lerp")
    else:
        direction = (np.sin((1 - t) * omega) * ua + np.sin(t * omega) * ub) / np.sin(omega)
    return (direction * (na + (nb - na) * t)).astype(np.float32)


def interpolate(a: np.ndarray, b: np.ndarray, t: np.ndarray | float, path: str = "lerp") -> np.ndarray:
    if path == "lerp":
        return lerp(a, b, t)
    if path == "slerp":
        return slerp(a, b, t)
    raise UserError(f"unknown path '{path}'; choose {', '.join(PATHS)}")


# --- keyframe paths -----------------------------------------------------------------------

def path_length(keyframes: int, frames: int, hold: int = 0, loop: bool = False) -> int:
    """Frames in a keyframe animation (see ``plan_path``)."""
    transitions = keyframes if loop else keyframes - 1
    return transitions * frames + (0 if loop else 1) + keyframes * hold


def plan_path(keyframes: np.ndarray, frames: int, hold: int = 0, loop: bool = False,
              easing: str = "linear", path: str = "lerp") -> np.ndarray:
    """The latent of every frame of an animation through ``keyframes`` [K, Z] -> [N, Z].

    Each transition takes ``frames`` frames, counting its start keyframe but not its end one
    (which starts the next transition), so keyframe k is exactly frame k·frames (+ holds) and
    nothing is shown twice by accident. Without ``loop`` the last frame is the last keyframe:
    N = (K-1)·frames + 1 + K·hold. With ``loop`` a last transition heads back to the first
    keyframe and stops one step short, so playing the file on repeat is seamless:
    N = K·frames + K·hold. ``hold`` repeats each keyframe that many extra frames.
    """
    keyframes = np.asarray(keyframes, dtype=np.float32)
    if keyframes.ndim != 2 or keyframes.shape[0] < 2:
        count = keyframes.shape[0] if keyframes.ndim == 2 else 1
        raise UserError(f"a morph needs at least 2 keyframe latents, got {count}; give two or more .npy files")
    if frames < 1:
        raise UserError(f"--frames must be at least 1 frame per transition, got {frames}")
    if hold < 0:
        raise UserError(f"--hold must be 0 or more frames, got {hold}")
    if easing not in EASINGS:
        raise UserError(f"unknown easing '{easing}'; choose {', '.join(EASINGS)}")
    if path not in PATHS:
        raise UserError(f"unknown path '{path}'; choose {', '.join(PATHS)}")
    k = keyframes.shape[0]
    stops = list(keyframes) + ([keyframes[0]] if loop else [])
    weights = ease(easing, np.arange(frames) / frames)  # progress 0, 1/F, ..., (F-1)/F
    parts = []
    for i in range(len(stops) - 1):
        parts.append(np.repeat(stops[i][None], hold, axis=0))
        parts.append(interpolate(stops[i], stops[i + 1], weights, path))
    if not loop:
        parts.append(np.repeat(keyframes[-1][None], hold + 1, axis=0))
    out = np.concatenate(parts).astype(np.float32)
    assert out.shape[0] == path_length(k, frames, hold, loop)
    return out


# --- latents from files: .npy, or a PNG that cppnart made ---------------------------------

GRID_KEY = "cppnart-grid"  # PNG text chunk of a contact sheet: every cell's seed and z


def read_grid(path: str | Path) -> dict | None:
    """The metadata of a `cppnart grid` sheet (model, layout, and every cell's label, seed and z),
    or None for other files."""
    import json

    from .writers import open_own_image

    try:
        with open_own_image(path) as image:
            text = image.info.get(GRID_KEY)
    except Exception:  # not an image Pillow knows: read_recipe gives the message
        return None
    if not text:
        return None
    try:
        sheet = json.loads(text)
        assert all(isinstance(c["z"], list) for c in sheet["cells"])
    except (ValueError, KeyError, TypeError, AssertionError):
        raise UserError(f"the grid metadata in '{path}' is damaged") from None
    return sheet


def read_grid_cells(path: str | Path) -> list[dict] | None:
    """The cells of a `cppnart grid` sheet (each with label, seed and z), or None for other files."""
    sheet = read_grid(path)
    return None if sheet is None else sheet["cells"]


def read_latents(path: str | Path, z_dim: int | None = None) -> np.ndarray:
    """Latents [B, Z] from a ``.npy`` file, a PNG rendered by cppnart (its recipe's z), or a
    grid sheet made by `cppnart grid` (one row per cell, in cell order)."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        from .recipe import read_recipe

        if not path.is_file():
            raise UserError(f"image '{path}' not found")
        cells = read_grid_cells(path)
        if cells is not None:
            z = np.asarray([c["z"] for c in cells], dtype=np.float32)
        else:
            z = np.asarray(read_recipe(path)["z"], dtype=np.float32)
        return as_batch(z, z_dim if z_dim is not None else z.shape[-1], what=f"the latent in '{path}'")
    if path.suffix.lower() != ".npy":
        raise UserError(f"'{path}' is not a latent file; give a .npy file or a PNG that cppnart rendered")
    return load_z(path, z_dim)


# --- latent arithmetic: "z9.npy + (after.npy - before.npy)" --------------------------------
#
# File names hold dots, dashes and slashes, which Python would read as operators, so a small
# scanner first swaps each file for a placeholder name; the rest is parsed by Python's ast and
# evaluated by walking a whitelist of node types (numbers, names, + - * /). Nothing is eval'd.

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_FILE = re.compile(r"[^\s()+*'\"]*?\.(?:npy|png)(?=$|[\s()+*/-])", re.IGNORECASE)
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def _tokenize(expr: str) -> tuple[str, list[str]]:
    """Python source with files replaced by f0, f1, ... and the list of file names."""
    out: list[str] = []
    files: list[str] = []
    pos, operand = 0, True  # operand: whether a value (not an operator) comes next
    while pos < len(expr):
        if expr[pos].isspace():
            pos += 1
            continue
        rest = expr[pos:]
        if operand:
            if rest[0] in "(+-":
                out.append(rest[0])
                pos += 1
                continue
            quoted = _QUOTED.match(rest)
            match = quoted or _FILE.match(rest)
            if match:
                files.append(quoted.group(1) or quoted.group(2) if quoted else match.group(0))
                out.append(f"f{len(files) - 1}")
            elif (match := _NUMBER.match(rest)):
                out.append(match.group(0))
            else:
                raise UserError(f"cannot read '{rest.split()[0]}' in the expression; operands are .npy/.png files "
                                "(quote names with spaces) and numbers")
            pos += match.end()
            operand = False
        else:
            if rest[0] == ")":
                out.append(")")
            elif rest[0] in "+-*/":
                out.append(rest[0])
                operand = True
            else:
                raise UserError(f"expected + - * / or ) before '{rest.split()[0]}' in the expression")
            pos += 1
    return " ".join(out), files


def _evaluate(node: ast.AST, values: dict[str, np.ndarray]):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name) and node.id in values:
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _evaluate(node.operand, values)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        arrays = isinstance(left, np.ndarray), isinstance(right, np.ndarray)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            if all(arrays) and left.shape[0] != right.shape[0] and 1 not in (left.shape[0], right.shape[0]):
                raise UserError(f"cannot combine {left.shape[0]} latents with {right.shape[0]}; "
                                "use files of one latent each, or of equal count")
            return left + right if isinstance(node.op, ast.Add) else left - right
        if all(arrays):
            raise UserError("latents can be multiplied or divided by numbers only, not by other latents")
        if isinstance(node.op, ast.Mult):
            return left * right
        if arrays[1]:
            raise UserError("cannot divide a number by a latent")
        if right == 0:
            raise UserError("division by zero in the expression")
        return left / right
    raise UserError("the expression may only hold .npy/.png files, numbers, + - * / and parentheses")


def mix_expression(expr: str, z_dim: int | None = None) -> np.ndarray:
    """Evaluate latent arithmetic over files, e.g. ``"z9.npy + (after.npy - before.npy)"`` -> [B, Z].

    Operands are latent files (.npy, or a PNG cppnart made) and numbers; + and - work between
    latents, * and / scale a latent by a number.
    """
    source, files = _tokenize(expr)
    if not files:
        raise UserError("the expression names no latent file; write e.g. \"z9.npy + (after.npy - before.npy)\"")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise UserError(f"the expression '{expr}' is incomplete or unbalanced; check operators and parentheses") from None
    values: dict[str, np.ndarray] = {}
    for i, name in enumerate(files):
        z = read_latents(name, z_dim)
        if z_dim is None:
            z_dim = z.shape[1]
        values[f"f{i}"] = z.astype(np.float64)
    return as_batch(np.asarray(_evaluate(tree, values)), z_dim, "the result")


def mix_terms(base: str | Path, add: list[str | Path], sub: list[str | Path], strength: float = 1.0,
              z_dim: int | None = None) -> np.ndarray:
    """The flag form of latent arithmetic: base + strength · (Σ add − Σ sub)."""
    z = read_latents(base, z_dim).astype(np.float64)
    z_dim = z.shape[1]
    direction = np.zeros_like(z[:1])
    for sign, files in ((1.0, add), (-1.0, sub)):
        for name in files:
            term = read_latents(name, z_dim)
            if term.shape[0] != 1:
                raise UserError(f"'{name}' holds {term.shape[0]} latents; --add and --sub take one latent each")
            direction = direction + sign * term
    return as_batch(z + strength * direction, z_dim, "the result")
