"""Shaded views of triangle meshes in numpy: orthographic, z-buffered, Gouraud-shaded, anti-aliased
by supersampling. `cppnart mesh -o spin.mp4` films its mesh turning with it (``render.turntable``).

Why a rasteriser of our own: the renderers that would do this (pyrender, moderngl, VTK) draw
through OpenGL and need an EGL or OSMesa context, which a headless CPU machine does not have; this
needs numpy only. Triangles are grouped by the size of their pixel box and rasterised a group at a
time, each group at most ``CANDIDATES`` candidate pixels, then merged into one z-buffer: memory is
bounded by the frame and that constant, whatever the mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CANDIDATES = 1 << 20  # candidate pixels a group: about 60 MB of temporaries
LIGHT = (-0.45, 0.6, 0.66)  # in view space (x right, y up, z towards the viewer): upper left, in front
AMBIENT = 0.32  # the light every surface gets; the rest is Lambert's, so faces turned away stay readable


def view_rotation(azimuth: float, elevation: float) -> np.ndarray:
    """World (x, y, z up) to view (x right, y up, z towards the viewer): the object turned by
    ``azimuth`` degrees about its vertical axis, seen from ``elevation`` degrees above the horizon."""
    a, e = np.deg2rad(azimuth), np.deg2rad(elevation)
    turn = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    front = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # seen from -y: z up, -y near
    tilt = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(e), -np.sin(e)], [0.0, np.sin(e), np.cos(e)]])
    return tilt @ front @ turn


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit normals [V, 3] at the vertices: the area-weighted mean of the faces around each."""
    tri = verts[faces].astype(np.float64)
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # its length is twice the area
    flat = faces.ravel()
    normals = np.stack([np.bincount(flat, np.repeat(face_n[:, k], 3), minlength=len(verts)) for k in range(3)], axis=1)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True, eq=False)
class MeshView:
    """A mesh ready to be drawn from any side: vertices centred on their box, unit normals, colours
    in [0, 1], and the radius that keeps the whole mesh in the frame whichever way it turns."""

    verts: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    colours: np.ndarray
    radius: float

    @classmethod
    def of(cls, verts: np.ndarray, faces: np.ndarray, colours: np.ndarray) -> MeshView:
        """``verts`` [V, 3], ``faces`` [F, 3] (counter-clockwise seen from outside), ``colours``
        [V, 3] uint8."""
        v = np.asarray(verts, np.float64)
        centred = v - (v.min(axis=0) + v.max(axis=0)) / 2
        faces = np.asarray(faces, np.int64)
        radius = float(np.linalg.norm(centred, axis=1).max()) or 1.0
        rgb = np.asarray(colours, np.float64)[:, :3] / 255.0
        return cls(centred, faces, vertex_normals(centred, faces), rgb, radius)

    def frame(
        self,
        width: int,
        height: int,
        azimuth: float = 0.0,
        elevation: float = 25.0,
        background: tuple[int, int, int] = (255, 255, 255),
        supersample: int = 2,
    ) -> np.ndarray:
        """The mesh seen from (``azimuth``, ``elevation``) degrees: uint8 [height, width, 3]."""
        w, h = width * supersample, height * supersample
        rot = view_rotation(azimuth, elevation)
        p = self.verts @ rot.T
        scale = 0.94 * min(w, h) / 2 / self.radius
        sx, sy, depth = w / 2 + p[:, 0] * scale, h / 2 - p[:, 1] * scale, p[:, 2]
        light = np.asarray(LIGHT) / np.linalg.norm(LIGHT)
        lit = self.colours * (AMBIENT + (1 - AMBIENT) * np.clip((self.normals @ rot.T) @ light, 0, 1))[:, None]
        zbuf = np.full(w * h, -np.inf)
        image = np.empty((w * h, 3))
        image[:] = np.asarray(background, np.float64) / 255.0
        for group in _groups(sx, sy, self.faces, w, h):
            _draw(group, sx, sy, depth, lit, self.faces, w, zbuf, image)
        out = image.reshape(h, w, 3)
        if supersample > 1:
            out = out.reshape(height, supersample, width, supersample, 3).mean(axis=(1, 3))
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class _Group:
    """Front-facing triangles whose pixel boxes fit ``box_w`` x ``box_h``: their first pixel and last."""

    tri: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    box_w: int
    box_h: int


def _groups(sx: np.ndarray, sy: np.ndarray, faces: np.ndarray, w: int, h: int) -> list[_Group]:
    """The triangles that face the viewer and cover a pixel centre, grouped by their box's size
    rounded up to a power of two (so each group is rasterised over one grid of offsets)."""
    fx, fy = sx[faces], sy[faces]
    area2 = (fx[:, 1] - fx[:, 0]) * (fy[:, 2] - fy[:, 0]) - (fx[:, 2] - fx[:, 0]) * (fy[:, 1] - fy[:, 0])
    # counter-clockwise from outside is clockwise on screen, where y runs down: negative area
    x0 = np.maximum(np.ceil(fx.min(axis=1) - 0.5), 0).astype(np.int64)
    x1 = np.minimum(np.floor(fx.max(axis=1) - 0.5), w - 1).astype(np.int64)
    y0 = np.maximum(np.ceil(fy.min(axis=1) - 0.5), 0).astype(np.int64)
    y1 = np.minimum(np.floor(fy.max(axis=1) - 0.5), h - 1).astype(np.int64)
    keep = np.flatnonzero((area2 < 0) & (x1 >= x0) & (y1 >= y0))
    bw = 1 << np.ceil(np.log2(x1[keep] - x0[keep] + 1)).astype(np.int64)
    bh = 1 << np.ceil(np.log2(y1[keep] - y0[keep] + 1)).astype(np.int64)
    groups = []
    for box_w, box_h in sorted(set(zip(bw.tolist(), bh.tolist(), strict=True))):
        members = keep[(bw == box_w) & (bh == box_h)]
        step = max(1, CANDIDATES // (box_w * box_h))
        for i in range(0, len(members), step):
            t = members[i : i + step]
            groups.append(_Group(t, x0[t], y0[t], x1[t], y1[t], box_w, box_h))
    return groups


def _draw(
    g: _Group,
    sx: np.ndarray,
    sy: np.ndarray,
    depth: np.ndarray,
    lit: np.ndarray,
    faces: np.ndarray,
    w: int,
    zbuf: np.ndarray,
    image: np.ndarray,
) -> None:
    """Rasterise one group and keep, at each pixel, the nearest of it and what the z-buffer holds."""
    dy, dx = np.divmod(np.arange(g.box_w * g.box_h), g.box_w)
    px, py = g.x0[:, None] + dx, g.y0[:, None] + dy  # [T, box] candidate pixels
    inside_box = (px <= g.x1[:, None]) & (py <= g.y1[:, None])
    f = faces[g.tri]
    ax, ay, bx, by, cx, cy = (s[f[:, k], None] for k in range(3) for s in (sx, sy))
    qx, qy = px + 0.5, py + 0.5  # pixel centres
    area = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
    wa = ((bx - qx) * (cy - qy) - (cx - qx) * (by - qy)) / area  # barycentrics by edge functions
    wb = ((cx - qx) * (ay - qy) - (ax - qx) * (cy - qy)) / area
    wc = 1.0 - wa - wb
    hit = inside_box & (wa >= -1e-9) & (wb >= -1e-9) & (wc >= -1e-9)
    rows, cols = np.nonzero(hit)
    if not len(rows):
        return
    wa, wb, wc = wa[rows, cols], wb[rows, cols], wc[rows, cols]
    corners = f[rows]
    z = wa * depth[corners[:, 0]] + wb * depth[corners[:, 1]] + wc * depth[corners[:, 2]]
    pix = py[rows, cols] * w + px[rows, cols]
    order = np.lexsort((-z, pix))  # by pixel, the nearest first
    pix, z, rows, wa, wb, wc = pix[order], z[order], rows[order], wa[order], wb[order], wc[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    nearer = first.copy()
    nearer[first] = z[first] > zbuf[pix[first]]
    pix, corners = pix[nearer], f[rows[nearer]]
    zbuf[pix] = z[nearer]
    weights = np.stack([wa[nearer], wb[nearer], wc[nearer]], axis=1)[:, :, None]  # [N, 3 corners, 1]
    image[pix] = (weights * lit[corners]).sum(axis=1)
