import pytest

from dshgan.config import ConfigError, RunConfig, config_to_dict, load_config, save_config


def test_defaults_and_bundled_configs():
    assert load_config().hashing.bits == (12, 24, 32, 48)
    demo = load_config("demo")
    assert demo.name == "demo" and demo.hashing.backbone == "small-cnn"
    for name in ("cifar10", "cifar10-1", "nuswide21"):
        assert load_config(name).data.protocol == name
    plus = load_config("cifar10-plus")
    assert plus.data.protocol == "cifar10" and not plus.hashing.use_synthetic
    assert plus.hashing.self_training_lr < plus.hashing.lr


def test_yaml_file_then_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 3\nhashing:\n  epochs: 2\n  bits: [16]\n")
    c = load_config(f, {"hashing": {"epochs": 5}})
    assert (c.seed, c.hashing.epochs, c.hashing.bits) == (3, 5, (16,))


def test_unknown_key_names_the_file_and_the_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("hashing:\n  epoch: 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*hashing.*'epoch'"):
        load_config(f)


def test_missing_config_lists_bundled_ones():
    with pytest.raises(ConfigError, match="demo"):
        load_config("no-such-config")


def test_save_round_trip(tmp_path):
    c = load_config("demo", {"seed": 7})
    save_config(c, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == c
    assert config_to_dict(RunConfig())["hashing"]["bits"] == [12, 24, 32, 48]
