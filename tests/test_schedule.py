"""The learning-rate schedule: warm-up, cosine to the floor, and glyph runs following it."""

from __future__ import annotations

import math

import pytest

from cppnart.errors import UserError
from cppnart.train.checkpoint import load_checkpoint
from cppnart.train.glyph import train_glyph
from cppnart.train.schedule import cosine_factor

from .glyph_fixtures import tiny_config


def test_cosine_warms_up_then_decays_to_the_floor():
    factors = [cosine_factor(step, 1000, floor=0.01, warmup=50) for step in range(1001)]
    assert factors[0] == pytest.approx(1 / 50)
    assert factors[49] == pytest.approx(cosine_factor(49, 1000, 0.01), rel=1e-12)
    assert all(a < b for a, b in zip(factors[:49], factors[1:50]))  # rising through the warm-up
    assert all(a >= b for a, b in zip(factors[50:], factors[51:]))  # then never rising
    assert factors[500] == pytest.approx(0.01 + 0.99 * 0.5)
    assert factors[1000] == pytest.approx(0.01)


def test_warmup_is_at_most_a_tenth_of_the_run():
    # 200 warm-up steps in a 40-step run would never reach the full rate.
    assert cosine_factor(3, 40, floor=0.0, warmup=200) == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 40)))
    assert cosine_factor(0, 40, floor=0.0, warmup=200) == pytest.approx(0.25)


@pytest.mark.parametrize("schedule, last_lr", [("cosine", None), ("constant", 3e-3)])
def test_glyph_run_ends_at_the_scheduled_rate(tmp_path, schedule, last_lr):
    config = tiny_config(steps=10, lr_schedule=schedule, lr_final=1e-4, warmup_steps=0, checkpoint_every=100)
    train_glyph(config, tmp_path / "run", device="cpu", export=False)
    lr = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["states"]["optimizer"]["param_groups"][0]["lr"]
    expected = last_lr if last_lr is not None else 3e-3 * cosine_factor(9, 10, 1e-4 / 3e-3)
    assert lr == pytest.approx(expected)


def test_unknown_schedule_is_a_user_error():
    with pytest.raises(UserError, match="lr_schedule"):
        tiny_config(lr_schedule="linear").validate("tiny.toml")
    with pytest.raises(UserError, match="lr_final"):
        tiny_config(lr_final=1.0).validate("tiny.toml")
