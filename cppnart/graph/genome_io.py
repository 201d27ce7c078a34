"""Reading genome files of either kind: cppnart's ``.genome.json`` or Picbreeder's ``.xml`` / ``.zip``.

g = read_genome("skull.zip")       # -> graph.genome.Genome, bounded and validated
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from .genome import Genome

# What names a genome file. The check sits here, apart from the genome code, so that loading a
# preset or an ONNX file asks it without importing that code (~10 ms of every render's start).
GENOME_SUFFIXES = (".json", ".xml", ".zip")


def is_genome_path(source: str) -> bool:
    """Whether a model source names a genome file by its suffix (.genome.json or any .json, .xml, .zip)."""
    return source.lower().endswith(GENOME_SUFFIXES)


def read_genome(path: str | Path) -> Genome:
    """A ``.genome.json`` file (cppnart's) or a Picbreeder genome (``.xml``, or the ``.zip`` it is
    published in), validated; a one-line UserError for anything else."""
    from .genome import genome_from_json, read_bounded
    from .picbreeder import read_picbreeder

    path = Path(path)
    if not path.is_file():
        raise UserError(f"genome file '{path}' not found")
    if path.suffix.lower() in (".xml", ".zip"):
        return read_picbreeder(path)
    data = read_bounded(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"'{path}' is not a genome: not UTF-8 JSON text") from None
    return genome_from_json(text, f"'{path}'")
