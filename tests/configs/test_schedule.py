"""The learning-rate schedule: warm-up, cosine to the floor, and glyph runs following it."""

from __future__ import annotations

import math

import pytest

from cppnart.configs.schedule import cosine_factor
from cppnart.errors import UserError
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.glyph import train_glyph

from ..glyph_fixtures import tiny_config


def test_cosine_warms_up_then_decays_to_the_floor():
    factors = [cosine_factor(step, 1000, floor=0.01, warmup=50) for step in range(1001)]
    assert factors[0] == pytest.approx(1 / 50)
    assert factors[49] == pytest.approx(cosine_factor(49, 1000, 0.01), rel=1e-12)
    assert all(a < b for a, b in zip(factors[:49], factors[1:50]))  # rising through the warm-up
    assert all(a >= b for a, b in zip(factors[50:], factors[51:]))  # then never rising
    assert factors[500] == pytest.approx(0.01 + 0.99 * 0.5)
    assert factors[1000] == pytest.approx(0.01)


def test_decay_keeps_the_full_rate_until_the_last_fraction():
    factors = [cosine_factor(step, 1000, floor=0.01, decay=0.25) for step in range(1001)]
    assert factors[0] == factors[750] == 1.0
    assert factors[875] == pytest.approx(0.01 + 0.99 * 0.5)  # half-way through the decay
    assert factors[1000] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(factors[750:], factors[751:]))


def test_warmup_is_at_most_a_tenth_of_the_run():
    # 200 warm-up steps in a 40-step run would never reach the full rate.
    assert cosine_factor(3, 40, floor=0.0, warmup=200) == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 40)))
    assert cosine_factor(0, 40, floor=0.0, warmup=200) == pytest.approx(0.25)


def _last_lr(folder, **train) -> float:
    config = tiny_config(steps=10, lr_final=1e-4, lr_decay=0.5, warmup_steps=0, checkpoint_every=100, **train)
    train_glyph(config, folder, device="cpu", export=False)
    return load_checkpoint(folder / "checkpoint.pt")["states"]["optimizer"]["param_groups"][0]["lr"]


def test_glyph_run_ends_at_the_scheduled_rate(tmp_path):
    cosine = _last_lr(tmp_path / "cosine")
    assert cosine == pytest.approx(3e-3 * cosine_factor(9, 10, 1e-4 / 3e-3, decay=0.5))
    assert cosine < 3e-3 / 5  # the last step runs near the floor, not at the preset's 3e-3
    assert _last_lr(tmp_path / "constant", lr_schedule="constant") == pytest.approx(3e-3)


def test_unknown_schedule_is_a_user_error():
    from cppnart.configs.schema import check_fields

    with pytest.raises(UserError, match="'train.lr_schedule' must be one of"):
        check_fields(tiny_config(lr_schedule="linear"), "tiny.toml")  # a field's own choices
    with pytest.raises(UserError, match="lr_final"):
        tiny_config(lr_final=1.0).validate("tiny.toml")  # relates two fields
    with pytest.raises(UserError, match=r"'train.lr_decay' must be in \(0, 1\]"):
        check_fields(tiny_config(lr_decay=0.0), "tiny.toml")
