"""Run-folder files and sheets from elsewhere: summary.json, latent_stats.npz and grid metadata are
read within bounds and checked field by field; damage is one UserError, never a traceback."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cppnart.errors import UserError
from cppnart.io.npy import load_npz
from cppnart.io.run_files import STATS_FILE, SUMMARY_FILE, load_latent_stats, read_summary
from cppnart.render.encoder import sample_from_data

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(text=st.text(max_size=300))
def test_summary_is_a_table_or_nothing(text, tmp_path):
    (tmp_path / SUMMARY_FILE).write_text(text, encoding="utf-8")
    assert isinstance(read_summary(tmp_path), dict)


def test_deep_or_huge_summary_is_ignored(tmp_path):
    for text in ("[" * 100_000 + "]" * 100_000, json.dumps({"data": "x" * (2 << 20)})):
        (tmp_path / SUMMARY_FILE).write_text(text)
        assert read_summary(tmp_path) == {}


def _stats(tmp_path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (tmp_path / STATS_FILE).write_bytes(buffer.getvalue())
    (tmp_path / "encoder.onnx").write_bytes(b"")  # a run folder's shape; only the stats are read here


BAD_STATS = {
    "nan mean": dict(mean=np.full(3, np.nan), cov=np.eye(3)),
    "inf cov": dict(mean=np.zeros(3), cov=np.full((3, 3), np.inf)),
    "not symmetric": dict(mean=np.zeros(2), cov=np.array([[1.0, 5.0], [0.0, 1.0]])),
    "negative definite": dict(mean=np.zeros(2), cov=-np.eye(2)),
    "wrong shape": dict(mean=np.zeros(3), cov=np.eye(2)),
    "empty": dict(mean=np.zeros(0), cov=np.zeros((0, 0))),
    "no cov": dict(mean=np.zeros(3)),
    "strings": dict(mean=np.array(["a", "b"]), cov=np.eye(2)),
}


@pytest.mark.parametrize("case", sorted(BAD_STATS))
def test_damaged_latent_stats_are_one_line(case, tmp_path):
    _stats(tmp_path, **BAD_STATS[case])
    with pytest.raises(UserError) as error:
        sample_from_data(tmp_path, seed=1)
    assert "\n" not in str(error.value)


def test_good_latent_stats_sample(tmp_path):
    _stats(tmp_path, mean=np.zeros(3, np.float32), cov=np.eye(3, dtype=np.float32), count=np.int64(10))
    assert load_latent_stats(tmp_path)[0].shape == (3,)
    z = sample_from_data(tmp_path, seed=1, count=4)
    assert z.shape == (4, 3) and np.isfinite(z).all()


def test_npz_member_that_inflates_past_the_limit_is_refused(tmp_path):
    """A member's inflated size is read from the zip directory, before anything is inflated."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.zeros(1 << 20))  # 8 MB of zeros, a few kB compressed
        archive.writestr("mean.npy", buffer.getvalue())
    assert path.stat().st_size < 100_000
    with pytest.raises(UserError, match="at most"):
        load_npz(path, ("mean",), limit=1 << 20)


@FAST
@given(data=st.binary(max_size=300))
def test_npz_reader_on_random_bytes(data, tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(data)
    try:
        load_npz(path, ("mean", "cov"))
    except UserError as exc:
        assert "\n" not in str(exc)
