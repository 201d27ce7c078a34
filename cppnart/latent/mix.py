"""Latent arithmetic over files: ``"z9.npy + (after.npy - before.npy)"``, parsed, never evaluated.

File names hold dots, dashes and slashes, which Python would read as operators, so a small
scanner first swaps each file for a placeholder name; the rest is parsed by Python's ast and
evaluated by walking a whitelist of node types (numbers, names, + - * /). Nothing is eval'd.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from ..errors import UserError
from .files import read_latents
from .io import as_batch

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
            elif match := _NUMBER.match(rest):
                out.append(match.group(0))
            else:
                raise UserError(
                    f"cannot read '{rest.split()[0]}' in the expression; operands are .npy/.png files "
                    "(quote names with spaces) and numbers"
                )
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
                raise UserError(
                    f"cannot combine {left.shape[0]} latents with {right.shape[0]}; "
                    "use files of one latent each, or of equal count"
                )
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
        raise UserError('the expression names no latent file; write e.g. "z9.npy + (after.npy - before.npy)"')
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise UserError(
            f"the expression '{expr}' is incomplete or unbalanced; check operators and parentheses"
        ) from None
    values: dict[str, np.ndarray] = {}
    for i, name in enumerate(files):
        z = read_latents(name, z_dim)
        if z_dim is None:
            z_dim = z.shape[1]
        values[f"f{i}"] = z.astype(np.float64)
    return as_batch(np.asarray(_evaluate(tree, values)), z_dim or 0, "the result")


def mix_terms(
    base: str | Path, add: list[str | Path], sub: list[str | Path], strength: float = 1.0, z_dim: int | None = None
) -> np.ndarray:
    """The flag form of latent arithmetic: base + strength · (Σ add − Σ sub)."""
    z = read_latents(base, z_dim).astype(np.float64)
    z_dim = z.shape[1]
    direction = np.zeros_like(z[:1])
    for sign, files in ((1.0, add), (-1.0, sub)):
        for name in files:
            term = read_latents(name, z_dim)
            if term.shape[0] != 1:
                raise UserError(f"'{name}' holds {term.shape[0]} latents; an added or subtracted term takes one latent")
            direction = direction + sign * term
    return as_batch(z + strength * direction, z_dim, "the result")
