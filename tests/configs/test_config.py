from pathlib import Path

import pytest

from cppnart.configs.cppn import CPPNConfig
from cppnart.configs.presets import load_preset, preset_names
from cppnart.errors import UserError


def test_bundled_presets_load_and_cover_the_seed_architectures():
    names = preset_names()
    for required in ("classic", "softplus", "sine", "gaussian", "abs", "residual", "grey"):
        assert required in names
    classic = load_preset("classic")
    assert isinstance(classic, CPPNConfig)
    assert (classic.z_dim, classic.scale, classic.width) == (8, 10.0, 32)
    assert load_preset("grey").channels == 1
    assert load_preset("residual").residual


def test_single_activation_expands_to_every_layer():
    assert load_preset("classic").activations == ("tanh",) * 4


@pytest.mark.parametrize(
    "body, words",
    [
        ('kind = "cppn"\nwidht = 3\n', ["widht", "unknown key"]),
        ('kind = "cppn"\nwidth = "wide"\n', ["width", "integer"]),
        ('kind = "cppn"\nactivations = ["tanh", "swish"]\ndepth = 2\n', ["swish", "activations"]),
        ('kind = "cppn"\noutput = "relu"\n', ["output", "relu"]),
        ('kind = "cppn"\nchannels = 2\n', ["channels"]),
        ('kind = "cppn"\ndepth = 3\nactivations = ["tanh", "sin"]\n', ["depth", "activations"]),
        ('kind = "painting"\n', ["kind", "painting"]),
        ("this is = not toml [", ["TOML"]),
    ],
)
def test_bad_presets_name_the_key_and_file(tmp_path: Path, body: str, words: list[str]):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(UserError) as err:
        load_preset(path)
    message = str(err.value)
    assert str(path) in message
    for word in words:
        assert word in message


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(UserError, match="unknown preset 'nope'.*classic"):
        load_preset("nope")
