"""Optional parts: a one-line error naming the extra that installs them, before any work starts."""

from __future__ import annotations

import importlib.util

from ..errors import UserError

# module -> the name users know it by
NAMES = {"skimage": "scikit-image", "shapely": "shapely", "vpype": "vpype", "trimesh": "trimesh"}


def require(what: str, extra: str, *modules: str) -> None:
    """Refuse ``what`` when any of ``modules`` is not installed, naming the pip command of ``extra``.

    >>> require("rendering", "cpu", "json")
    """
    missing = [NAMES.get(m, m) for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(
            f"{what} needs {', '.join(missing)} (the {extra} extra); from the cppnart folder: "
            f'pip install -e ".[{extra}]"'
        )
