"""The parallel PNG writer: exact pixels back through two other decoders, a valid zlib stream and
chunk CRCs, files as small as Pillow's, UTF-8 recipes in iTXt (and old tEXt files still read)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import png  # pypng: a second decoder that keeps 16-bit RGB exact (Pillow narrows it)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from cppnart.io import png as cppnart_png
from cppnart.io.metadata import make_recipe, png_text, read_recipe
from cppnart.io.png import quantize, write_png
from cppnart.render.model import load_model


def chunks(path) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG as (type, data), each CRC checked."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        out.append((kind, body))
        at += 12 + length
    assert out[0][0] == b"IHDR" and out[-1][0] == b"IEND"
    return out


def read_pypng(path) -> np.ndarray:
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    return np.vstack(list(rows)).reshape(height, width, info["planes"])


def split(image: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    edges = [0, *sorted(c % (image.shape[0] + 1) for c in cuts), image.shape[0]]
    return [image[a:b] for a, b in zip(edges[:-1], edges[1:])]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    width=st.integers(1, 40),
    height=st.integers(1, 40),
    channels=st.sampled_from([1, 2, 3, 4]),
    bits=st.sampled_from([8, 16]),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    block_bytes=st.sampled_from([1, 50, 300, 1 << 20]),
    threads=st.integers(1, 3),
    level=st.sampled_from([0, 1, 6, 9]),
    seed=st.integers(0, 2**16),
)
def test_any_image_in_any_bands_reads_back_exactly(
    tmp_path, width, height, channels, bits, cuts, block_bytes, threads, level, seed
):
    rng = np.random.default_rng(seed)
    # Smooth ramps plus noise: every filter type wins somewhere.
    ramp = np.linspace(0, 1, width * height * channels, dtype=np.float32).reshape(height, width, channels)
    image = np.where(rng.random(ramp.shape) < 0.3, rng.random(ramp.shape, dtype=np.float32), ramp)
    path = tmp_path / "x.png"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cppnart_png, "BLOCK_BYTES", block_bytes)  # many blocks, so many joins, on small images
        write_png(path, width, height, channels, split(image, cuts), bits=bits, compression=level, threads=threads)
    assert np.array_equal(read_pypng(path), quantize(image, bits))
    idat = b"".join(body for kind, body in chunks(path) if kind == b"IDAT")
    stride = 1 + width * channels * bits // 8
    assert len(zlib.decompress(idat)) == height * stride  # zlib checks the combined Adler-32
    if bits == 8:
        with Image.open(path) as read:
            assert np.array_equal(np.asarray(read).reshape(height, width, channels), quantize(image))


@pytest.mark.parametrize("block_bytes", [300, 1 << 20])
def test_blocks_encoded_here_are_the_thread_pools_bytes(tmp_path, block_bytes):
    """threads=1 and one-block images encode on the caller's thread (no pool: ~5 ms of a tiny
    render's start): the same blocks, so the same file as a pool of three threads writes."""
    rng = np.random.default_rng(5)
    image = rng.random((40, 30, 3), dtype=np.float32)
    files = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cppnart_png, "BLOCK_BYTES", block_bytes)  # 300: 3 rows a block, 14 blocks
        for threads in (1, 3):
            path = tmp_path / f"t{threads}.png"
            write_png(path, 30, 40, 3, split(image, [7, 19]), threads=threads)
            files.append(path.read_bytes())
    assert files[0] == files[1]
    assert sum(kind == b"IDAT" for kind, _ in chunks(tmp_path / "t1.png")) == (14 if block_bytes == 300 else 1)


@given(a=st.binary(max_size=300), b=st.binary(max_size=70000))
def test_adler32_combine_matches_zlib(a, b):
    combined = cppnart_png._adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b))
    assert combined == zlib.adler32(a + b)


@pytest.fixture(scope="module")
def classic():
    return load_model("classic", 1)


@pytest.mark.parametrize("deflate", ["zlib-ng", "zlib"])
def test_written_png_is_the_rendered_array_at_8_and_16_bits(tmp_path, classic, deflate):
    z = classic.sample_z(1)
    expected = classic.render(z, 300, 200)
    for bits in (8, 16):
        path = tmp_path / f"p{bits}.png"
        with pytest.MonkeyPatch.context() as patch:
            if deflate == "zlib":  # the fallback where zlib-ng has no wheel
                patch.setattr(cppnart_png, "_deflate", zlib)
            patch.setattr(cppnart_png, "BLOCK_BYTES", 20000)  # 22 rows a block: 10 blocks on 2 threads
            bands = (band[0] for band in classic.bands(z, 300, 200, chunk=4096))
            write_png(path, 300, 200, 3, bands, bits=bits, threads=2)
        assert np.array_equal(read_pypng(path), quantize(expected, bits))
        assert sum(kind == b"IDAT" for kind, _ in chunks(path)) >= 9


def test_files_are_within_a_tenth_of_pillows_size_at_the_same_level(tmp_path, classic):
    pixels = quantize(classic.render(classic.sample_z(2), 480, 300))
    for level in (2, 5, 6):  # (zlib-ng's level 1 is another, quicker algorithm: 1.4x Pillow's level 1)
        pillow = io.BytesIO()
        Image.fromarray(pixels).save(pillow, "PNG", compress_level=level)
        ours = write_png(tmp_path / "x.png", 480, 300, 3, [pixels / np.float32(255)], compression=level)
        assert ours.stat().st_size < 1.1 * len(pillow.getvalue()), level
    unfiltered = io.BytesIO()  # pypng's writer, which cppnart used before: filter type 0 on every row
    png.Writer(480, 300, greyscale=False, compression=6).write(unfiltered, pixels.reshape(300, -1))
    assert ours.stat().st_size < 0.8 * len(unfiltered.getvalue())


def test_utf8_recipe_round_trips_through_itxt(tmp_path, classic):
    recipe = make_recipe(classic, classic.sample_z(1)[0], 16, 8, __import__("cppnart").View(), 1, 8)
    recipe["model"] = "/home/ユーザー/Снежинка ✳.toml"
    text = png_text(recipe)
    path = write_png(tmp_path / "x.png", 16, 8, 3, [np.zeros((8, 16, 3), np.float32)], text=text)
    assert {kind for kind, _ in chunks(path)} >= {b"iTXt"}
    assert b"tEXt" not in {kind for kind, _ in chunks(path)}
    assert read_recipe(path)["model"] == "/home/ユーザー/Снежинка ✳.toml"
    with Image.open(path) as image:  # a second reader sees the same text
        assert image.info["parameters"] == text["parameters"]


def test_old_latin1_text_chunks_are_still_read(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("cppnart", '{"z": [0.25], "seed": 4, "model": "caf\u00e9.toml"}')  # tEXt, as pypng wrote it
    Image.new("RGB", (4, 4)).save(tmp_path / "old.png", pnginfo=info)
    assert b"tEXt" in {kind for kind, _ in chunks(tmp_path / "old.png")}
    recipe = read_recipe(tmp_path / "old.png")
    assert recipe["seed"] == 4 and recipe["model"] == "café.toml"


def test_preset_file_with_a_non_latin1_name_renders_end_to_end(tmp_path, tiny_preset, runner):
    from cppnart.cli import app

    folder = tmp_path / "работы"
    folder.mkdir()
    preset = folder / "雪-ü.toml"
    preset.write_text(tiny_preset.read_text(), encoding="utf-8")
    out = folder / "плакат.png"
    result = runner.invoke(app, ["render", str(preset), "--res", "40x30", "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert read_recipe(out)["model"] == str(preset)
    again = folder / "снова.png"
    result = runner.invoke(app, ["render", "--from", str(out), "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_pypng(again), read_pypng(out))


def test_bands_of_the_wrong_shape_or_too_many_rows_are_refused(tmp_path):
    with pytest.raises(ValueError, match="bands must be"):
        write_png(tmp_path / "x.png", 8, 4, 3, [np.zeros((4, 7, 3), np.float32)])
    with pytest.raises(RuntimeError, match="more than 4 rows"):
        write_png(tmp_path / "x.png", 8, 4, 3, [np.zeros((3, 8, 3), np.float32)] * 2)
    assert list(tmp_path.iterdir()) == []
