"""Checkpoints (atomic, weights_only, every RNG), the step loop's Ctrl-C, exact resume."""

from __future__ import annotations

import os
import pickle
import random
import signal

import numpy as np
import pytest
import torch

from cppnart.errors import UserError
from cppnart.train.checkpoint import load_checkpoint, restore, save_checkpoint
from cppnart.train.loop import Every, Interrupted, run_steps


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))


def test_roundtrip_restores_weights_optimizer_and_every_rng(tmp_path):
    model = _model()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    gen = torch.Generator().manual_seed(3)
    path = save_checkpoint(
        tmp_path / "c.pt",
        config={"kind": "x", "sizes": [1, 2]},
        step=7,
        states={"model": model, "optimizer": optimizer},
        generators={"messages": gen},
    )
    expected = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(3, generator=gen))

    other = _model()
    other_opt = torch.optim.Adam(other.parameters())
    torch.manual_seed(99), np.random.seed(99), random.seed(99), gen.manual_seed(99)
    payload = load_checkpoint(path)
    assert payload["config"] == {"kind": "x", "sizes": [1, 2]}
    assert restore(payload, states={"model": other, "optimizer": other_opt}, generators={"messages": gen}) == 7
    got = (torch.rand(3), np.random.rand(3), random.random(), torch.rand(3, generator=gen))
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    assert got[2] == expected[2] and torch.equal(got[3], expected[3])
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)
    assert other_opt.state_dict()["state"][0]["exp_avg"].abs().sum() > 0
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]  # no temporary left behind


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_corrupt_file_is_a_user_error(tmp_path, content):
    path = tmp_path / "c.pt"
    path.write_bytes(content)
    with pytest.raises(UserError, match="corrupt or not a cppnart checkpoint"):
        load_checkpoint(path)


def test_foreign_files_are_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not a cppnart checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    # weights_only=True refuses pickled objects (no code runs on load).
    torch.save({"format": "cppnart-checkpoint", "evil": Every(1, print)}, tmp_path / "pickled.pt")
    with pytest.raises(UserError, match="corrupt or not a cppnart checkpoint"):
        load_checkpoint(tmp_path / "pickled.pt")


def test_state_of_another_shape_is_a_user_error(tmp_path):
    model = _model()
    path = save_checkpoint(tmp_path / "c.pt", config={}, step=1, states={"model": model})
    with pytest.raises(UserError, match="does not fit this model"):
        restore(load_checkpoint(path), states={"model": torch.nn.Linear(3, 4)})


def test_failed_save_keeps_the_old_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", config={}, step=1, states={"model": _model()})
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):  # a lambda cannot be pickled: torch.save fails half-way
        save_checkpoint(tmp_path / "c.pt", config={"bad": lambda: 0}, step=2, states={})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]


def test_ctrl_c_stops_between_steps_and_saves():
    seen, saved = [], []

    def step(i):
        seen.append(i)
        if i == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C during step 3
        return {"loss": 1.0}

    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a background job
    with pytest.raises(Interrupted) as stop:
        run_steps(step, start=0, stop=10, every=[Every(5, lambda s: None)], on_interrupt=saved.append)
    assert stop.value.step == 3 and saved == [3] and seen == [0, 1, 2]
    assert signal.getsignal(signal.SIGINT) == before  # handler restored


def test_periodic_actions_see_completed_steps():
    calls = []
    assert run_steps(lambda i: {}, start=3, stop=10, every=[Every(4, calls.append)]) == 10
    assert calls == [4, 8, 10]  # and once at the end


def test_cli_turns_an_interrupted_run_into_a_resume_hint_and_exit_130(capsys, tmp_path):
    import typer

    from cppnart.cli.train import run_live
    from cppnart.configs.presets import load_preset
    from cppnart.train.loop import Interrupted

    def interrupted_training(callbacks):
        raise Interrupted(7)

    config = load_preset("glyph-quick")
    with pytest.raises(typer.Exit) as stop:
        run_live("glyph", config, None, tmp_path / "run", True, interrupted_training)
    assert stop.value.exit_code == 130
    message = capsys.readouterr().err
    assert "after step 7" in message and f"cppnart train glyph --out {tmp_path / 'run'} --resume" in message
    assert run_live("glyph", config, None, tmp_path, True, lambda callbacks: "done") == "done"
