"""Mesh benchmark: marching cubes slab by slab (cppnart) against the whole volume held at once,
same 3-D CPPN, one run; each side in a fresh child process so its peak RSS (ru_maxrss) is its own.

    python bench/mesh.py              # whole vs slabs at 256^3, then slabs alone at 512^3 (~3 min on 2 cores)
    python bench/mesh.py --quick      # 128^3 and 256^3 only
    python bench/mesh.py --res 1024   # slabs alone at another size too
    python bench/mesh.py --pair 512   # both sides at 512^3 too (the whole side holds ~1.5 GB)

The whole side is what one writes without slabs: sample every point into one res^3 float32
array, pad it, one marching_cubes call. Its memory grows with res^3 (537 MB of samples alone at
512^3); the slabs' with res^2 (the slab and the mesh).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

SEED = 3


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(side: str, res: int) -> dict:
    """One side at one size, in this (fresh) process."""
    import numpy as np

    from cppnart.render.mesh import extract_surface, plane_points, resolve_mesh, solid_surface

    request = resolve_mesh("solid", seed=SEED, res=res)
    request.model.session  # noqa: B018  the session's own memory is on both sides
    base = _peak_rss_mb()
    started = time.perf_counter()
    if side == "slabs":
        surface = solid_surface(request)
    else:
        volume = np.empty((res, res, res), np.float32)
        for k in range(res):
            volume[k] = request.model.field(plane_points(res, k, k + 1), request.z)[:, 0].reshape(res, res)
        surface = extract_surface(lambda k0, k1: volume[k0:k1], res, request.level, slab=res + 1)
    seconds = time.perf_counter() - started
    return {
        "side": side,
        "res": res,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "over_session_mb": round(_peak_rss_mb() - base, 1),
        "vertices": len(surface.verts),
        "faces": len(surface.faces),
    }


def run(side: str, res: int) -> dict:
    """One side in a fresh child process (its own peak RSS)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, str(res)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """The table and the ratios."""
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        print(json.dumps(child(args[1], int(args[2]))))
        return
    pairs = [128, 256] if "--quick" in args else [256]
    alone = [] if "--quick" in args else [512]
    if "--pair" in args:
        pairs.append(int(args[args.index("--pair") + 1]))
    if "--res" in args:
        alone.append(int(args[args.index("--res") + 1]))
    print(f"{'side':<7}{'res':>6}{'s':>9}{'peak RSS MB':>13}{'over session':>14}{'vertices':>11}")
    for res in pairs:
        rows = [run("whole", res), run("slabs", res)]
        for r in rows:
            print(
                f"{r['side']:<7}{r['res']:>6}{r['seconds']:>9}{r['peak_rss_mb']:>13}{r['over_session_mb']:>14}{r['vertices']:>11}"
            )
        whole, slabs = rows
        assert whole["vertices"] == slabs["vertices"], "slabs and the whole extraction disagree"
        print(
            f"  {res}^3: slabs hold {slabs['over_session_mb'] / max(whole['over_session_mb'], 1e-9):.2f}x the whole "
            f"volume's memory, in {slabs['seconds'] / whole['seconds']:.2f}x its time"
        )
    for res in alone:
        r = run("slabs", res)
        print(
            f"{r['side']:<7}{r['res']:>6}{r['seconds']:>9}{r['peak_rss_mb']:>13}{r['over_session_mb']:>14}{r['vertices']:>11}"
        )
        print(
            f"  {res}^3 in slabs: peak {r['peak_rss_mb']:.0f} MB; "
            f"the samples alone, held whole, would be {res**3 * 4 / 1e6:.0f} MB"
        )


if __name__ == "__main__":
    main()
