"""The view of a picture: what part of the plane the image shows."""

from __future__ import annotations

from dataclasses import dataclass

from .schema import check_finite_view


@dataclass(frozen=True)
class View:
    """The shorter image side spans [-1, 1] / ``zoom`` around ``center`` (x right, y down).

    >>> View(zoom=2.0, center=(0.5, 0.0))
    View(zoom=2.0, center=(0.5, 0.0))
    """

    zoom: float = 1.0
    center: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        # Zoom 0, NaN or 1e-300 and centres of 1e300 render blank pictures: refuse them here, so the
        # library is as safe as the CLI.
        check_finite_view(self.zoom, self.center)
