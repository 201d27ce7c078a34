"""`cppnart morph a.genome.json b.genome.json -o out.gif`: a morph between bred pictures by their
genomes (``lerp_genomes`` along the path), read back by a second reader (Pillow, ``info``, ``--from``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from cppnart.graph.evolve import mutate, random_genome
from cppnart.graph.genome import write_genome
from cppnart.io.metadata import read_animation_recipe
from cppnart.render.genome_morph import resolve_genome_morph
from cppnart.render.morph import save_genome_morph


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cppnart", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture
def pair(tmp_path):
    """A parent and a weight-and-structure mutated child (so the graphs align, with links only one has)."""
    rng = np.random.default_rng(3)
    a = random_genome(rng, "rgb", hidden=4, links=12)
    b = mutate(mutate(a, rng, "weights", strength=1.5), rng, "structure")
    assert {k.innovation for k in b.links} != {k.innovation for k in a.links}
    return write_genome(a, tmp_path / "a.genome.json"), write_genome(b, tmp_path / "b.genome.json")


def frames_of(path):
    with Image.open(path) as image:
        out = []
        for i in range(image.n_frames):
            image.seek(i)
            out.append(np.asarray(image.convert("RGB"), np.int16))
        return out


def render_png(source, out, cwd):
    done = cli("render", str(source), "--res", "16x16", "-o", str(out), "--quiet", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return np.asarray(Image.open(out).convert("RGB"), np.int16)


def test_genome_morph_ends_on_each_genome_and_carries_its_recipe(tmp_path, pair):
    a, b = pair
    out = tmp_path / "m.gif"
    done = cli("morph", str(a), str(b), "-o", str(out), "--res", "16x16", "--frames", "6", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["frames"] == 7 and report["keyframes"] == 2
    frames = frames_of(out)
    assert len(frames) == 7
    first, last = render_png(a, tmp_path / "a.png", tmp_path), render_png(b, tmp_path / "b.png", tmp_path)
    # GIF palettes quantise: the ends equal the genomes' own renders to within the palette's error
    assert np.abs(frames[0] - first).mean() < 4 and np.abs(frames[-1] - last).mean() < 4
    assert np.abs(first - last).mean() > 10  # the two pictures differ, so the test can fail
    mid = frames[3]
    assert np.abs(mid - first).mean() > 3 and np.abs(mid - last).mean() > 3
    recipe = read_animation_recipe(out)
    assert recipe["genomes"] == [str(a), str(b)] and recipe["frames"] == 6 and recipe["res"] == [16, 16]
    info = cli("info", str(out), "--json", cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["genomes"] == [str(a), str(b)]
    # --from draws the first keyframe again (its genome travels inline)
    again = cli("render", "--from", str(out), "-o", str(tmp_path / "again.png"), "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert np.abs(np.asarray(Image.open(tmp_path / "again.png").convert("RGB"), np.int16) - first).max() == 0


def test_genome_morph_of_pngs_that_carry_genomes_and_a_loop(tmp_path, pair):
    a, b = pair
    render_png(a, tmp_path / "a.png", tmp_path)
    render_png(b, tmp_path / "b.png", tmp_path)
    out = tmp_path / "frames"
    done = cli("morph", "a.png", "b.png", "-o", "frames", "--res", "16x16", "--frames", "4", "--loop", "--quiet",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 8  # loop: two transitions of 4, the way back ends one step short
    pixels = [np.asarray(Image.open(p).convert("RGB"), np.int16) for p in pngs]
    assert np.abs(pixels[0] - np.asarray(Image.open(tmp_path / "a.png").convert("RGB"), np.int16)).max() == 0
    assert np.abs(pixels[4] - np.asarray(Image.open(tmp_path / "b.png").convert("RGB"), np.int16)).max() == 0
    # every frame carries its own recipe: --from draws the mixed genome of frame 2 again
    again = cli("render", "--from", str(pngs[2]), "-o", "again.png", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert np.abs(np.asarray(Image.open(tmp_path / "again.png").convert("RGB"), np.int16) - pixels[2]).max() == 0
    # the way back mixes b into a (halfway, the same mix as on the way there), never a's copy
    assert np.abs(pixels[6] - pixels[0]).mean() > 3 and np.abs(pixels[6] - pixels[2]).mean() < 2


def test_library_call_matches_the_cli(tmp_path, pair):
    a, b = pair
    request = resolve_genome_morph([a, b], 16, 16, frames=3, hold=1)
    assert request.frame_count == 3 + 1 + 2  # two keyframes held once each, plus the end
    save_genome_morph(request, tmp_path / "lib.gif")
    assert len(frames_of(tmp_path / "lib.gif")) == request.frame_count
    save_genome_morph(request, tmp_path / "lib.gif")  # the same animation again: allowed
    with pytest.raises(Exception, match="force"):
        save_genome_morph(resolve_genome_morph([b, a], 16, 16, frames=3), tmp_path / "lib.gif")


def test_genomes_whose_graphs_do_not_align_give_one_line(tmp_path, pair):
    a, _ = pair
    base = random_genome(np.random.default_rng(3), "rgb", hidden=4, links=12)  # a's own genome
    k = base.links[0]
    # the same innovation number on a link from another input: the two graphs cannot be aligned
    twisted = base.with_links([replace(k, source=1 if k.source != 1 else 0), *base.links[1:]])
    other = write_genome(twisted, tmp_path / "other.genome.json")
    out = tmp_path / "bad.gif"
    done = cli("morph", str(a), str(other), "-o", str(out), "--res", "16x16", "--frames", "2", cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "align" in done.stderr
    assert not out.exists() and list(tmp_path.glob("*.tmp*")) == []


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, pair):
    a, b = pair
    grey = write_genome(random_genome(np.random.default_rng(1), "grey"), tmp_path / "g.genome.json")
    for args, words in [
        ([str(a), str(grey)], "morphed"),  # grey and colour outputs
        ([str(a)], "keyframe"),  # one keyframe: the older form takes it as the output
        ([str(a), str(b), "--frames", "0"], "frames"),
    ]:
        out = tmp_path / "x.gif"
        done = cli("morph", *args, "-o", str(out), "--res", "16x16", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr
        assert not out.exists()
    broken = tmp_path / "broken.genome.json"
    broken.write_text('{"nodes": [')
    done = cli("morph", str(a), str(broken), "-o", str(tmp_path / "y.gif"), cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "y.gif").exists()


def test_pngs_rendered_at_another_z_morph_from_the_picture_they_show(tmp_path):
    """A PNG of a genome rendered with --z shows the genome at that z: the morph starts there."""
    from cppnart.graph.genome import validate

    rng = np.random.default_rng(11)
    genome = random_genome(rng, "rgb", hidden=4, z_inputs=1, links=14)
    z_id = next(n.id for n in genome.inputs if n.label == "z0")
    link = replace(genome.links[0], source=z_id, weight=3.0, innovation=999)
    write_genome(validate(genome.with_links([*genome.links, link])), tmp_path / "z.genome.json")
    for name, value in (("lo", -0.9), ("hi", 0.9)):
        np.save(tmp_path / f"{name}.npy", np.array([value], np.float32))
        done = cli("render", "z.genome.json", "--z", f"{name}.npy", "--res", "16x16", "-o", f"{name}.png", "--quiet",
                   cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
    lo, hi = (np.asarray(Image.open(tmp_path / f"{n}.png").convert("RGB"), np.int16) for n in ("lo", "hi"))
    assert np.abs(lo - hi).mean() > 3
    done = cli("morph", "lo.png", "hi.png", "-o", "frames", "--res", "16x16", "--frames", "3", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pngs = sorted((tmp_path / "frames").glob("*.png"))
    first, last = (np.asarray(Image.open(p).convert("RGB"), np.int16) for p in (pngs[0], pngs[-1]))
    assert np.abs(first - lo).max() == 0 and np.abs(last - hi).max() == 0


def test_ctrl_c_mid_genome_morph_leaves_nothing(tmp_path, pair):
    a, b = pair
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cppnart", "morph", str(a), str(b), "-o", "out.gif", "--res", "256x256",
         "--frames", "2000", "--quiet"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(".tmp-" in p.name for p in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first frame is being written: the signal lands mid-morph
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert len(err.decode().strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.genome.json", "b.genome.json"]
