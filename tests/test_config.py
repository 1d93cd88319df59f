import pytest

from dshgan.config import ConfigError, RunConfig, config_to_dict, load_config, save_config


def test_defaults_and_bundled_configs():
    assert load_config().hashing.bits == (12, 24, 32, 48)
    demo = load_config("demo")
    assert demo.name == "demo" and demo.hashing.backbone == "efficientnet-lite0"
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


# Each bad value is refused at load time, by key and value, before anything trains.
HUGE = "x" * 5000
BAD_VALUES = [
    ("hashing", "lr", "abc", "'abc'"),
    ("hashing", "lr", 0, "got 0"),
    ("hashing", "lr", True, "True"),
    ("hashing", "epochs", -1, "-1"),
    ("hashing", "epochs", True, "True"),  # a bool is not an int
    ("hashing", "epochs", 2.0, "2.0"),
    ("hashing", "bits", [0], "[0]"),
    ("hashing", "bits", [], "[]"),
    ("hashing", "bits", [16, 16], "[16, 16]"),
    ("hashing", "bits", ["a"], "['a']"),
    ("hashing", "backbone", "nope", "'nope'"),
    ("hashing", "backbone_kwargs", 3, "3"),
    ("hashing", "generator_adversarial", "wasserstein", "'wasserstein'"),
    ("hashing", "labelled_augment", "medium", "'medium'"),
    ("hashing", "weight_average_decay", 1.0, "1.0"),
    ("hashing", "pseudo_label_threshold", 0, "got 0"),
    ("hashing", "self_training_lr", -1e-3, "-0.001"),
    ("hashing", "self_training_rounds", -1, "-1"),
    ("hashing", "triplet_weight", -0.5, "-0.5"),
    ("hashing", "shared_trunk", "yes please", "'yes please'"),
    ("gan", "batch_size", 0, "got 0"),
    ("gan", "image_size", 48, "48"),
    ("gan", "beta1", 1, "got 1"),
    ("gan", "lr", float("inf"), "inf"),
    ("gan", "loss", "wasserstein", "'wasserstein'"),
    ("gan", "diff_augment", "translation,zoom", "'translation,zoom'"),
    ("gan", "ema_decay", 1.0, "1.0"),
    ("gan", "ema_decay", -0.1, "-0.1"),
    ("gan", "upsample", "bilinear", "'transposed', 'resize'"),
    ("gan", "conditioning", "film", "'concat', 'batchnorm'"),
    ("gan", "lr_d", 0, "got 0"),
    ("gan", "lr_d", "fast", "'fast'"),
    ("gan", "generator_classification_weight", -0.5, "-0.5"),
    ("gan", "mode_seeking_weight", -1.0, "-1.0"),
    ("gan", "discriminator", "stylegan", "'dcgan', 'sngan', 'projected'"),
    ("gan", "feature_size", 48, "48"),
    ("gan", "class_projection", "on", "'on'"),
    ("gan", "twin_classifier_weight", -0.5, "-0.5"),
    ("data", "image_size", HUGE, "'xxxxxxxxxx"),
    ("data", "image_size", 4, "got 4"),
    ("data", "on_bad_image", "maybe", "'maybe'"),
    ("data", "protocol", "nope", "'nope'"),
    ("data", "labelled_per_class", 1.5, "1.5"),
    ("data", "labelled_per_class", 0, "got 0"),
    ("data", "query_per_class", -1, "-1"),
    ("data", "labelled_in_database", "no", "'no'"),
    ("data", "max_bad_fraction", 1.5, "1.5"),
    ("data", "loader_workers", -1, "-1"),
    ("data", "topk", 0, "got 0"),
    ("evaluation", "baselines", ["lsh", "nope"], "'nope'"),
    ("evaluation", "deep_baselines", ["hashnet"], "'hashnet'"),
    ("evaluation", "baseline_features", "pca", "'pca'"),
    ("evaluation", "precision_at_n", [0], "[0]"),
    (None, "device", "gpu", "'gpu'"),
    (None, "seed", "one", "'one'"),
    (None, "num_threads", 0, "got 0"),
]


@pytest.mark.parametrize(("section", "key", "value", "shown"), BAD_VALUES,
                         ids=[f"{s}.{k}={str(v)[:12]}" for s, k, v, _ in BAD_VALUES])
def test_bad_value_is_refused_by_key_and_value(section, key, value, shown):
    overrides = {section: {key: value}} if section else {key: value}
    path = f"{section}.{key}" if section else key
    with pytest.raises(ConfigError) as err:
        load_config("demo", overrides)
    message = str(err.value)
    assert f"{path}: expected" in message and shown in message
    assert "--set" in message  # the source
    assert len(message) < 400  # a huge value is cut short


def test_bad_value_in_a_file_names_the_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("hashing:\n  lr: fast\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: hashing\.lr: expected a number > 0, "
                                          r"got 'fast' \(str\)"):
        load_config(f)


def test_every_bad_value_is_listed_at_once():
    with pytest.raises(ConfigError) as err:
        load_config("demo", {"hashing": {"lr": "abc", "epochs": 0}, "gan": {"steps": -5}})
    assert all(k in str(err.value) for k in ("hashing.lr", "hashing.epochs", "gan.steps"))


GOOD_VALUES = [
    {"hashing": {"bits": [8]}, "gan": {"image_size": 64}, "data": {"image_size": 48}},
    {"data": {"image_size": 48}, "hashing": {"use_synthetic": False}},
    {"data": {"image_size": "auto", "protocol": "auto", "query_per_class": 0,
              "labelled_per_class": 0.5, "validation_per_class": 0.1,
              "labelled_in_database": True, "topk": 100, "top_concepts": 21,
              "on_bad_image": "fail", "max_bad_fraction": 0, "loader_workers": 0}},
    {"device": "cuda:1", "num_threads": 2, "seed": 12,
     "hashing": {"self_training_lr": None, "pseudo_labels_per_class": None,
                 "generator_adversarial": "minimax", "labelled_augment": "strong",
                 "weight_average_decay": 0.999, "cached_views": 4, "backbone_lr_scale": 0}},
    {"evaluation": {"baselines": [], "deep_baselines": ["dtsh"], "precision_at_n": [1]}},
    {"gan": {"loss": "hinge", "diff_augment": "color,translation,cutout"}},
    {"gan": {"ema_decay": 0.999, "upsample": "resize", "conditioning": "batchnorm",
             "lr_d": 4e-4, "generator_classification_weight": 0, "discriminator": "sngan"}},
    {"gan": {"lr_d": None, "generator_classification_weight": None}},
    {"gan": {"discriminator": "projected", "feature_size": 32, "class_projection": True,
             "twin_classifier_weight": 0.5}},
]


@pytest.mark.parametrize("overrides", GOOD_VALUES)
def test_good_values_load(overrides):
    c = load_config("demo", overrides)
    for section, values in overrides.items():
        if not isinstance(values, dict):
            assert getattr(c, section) == values
            continue
        for key, value in values.items():
            got = getattr(getattr(c, section), key)
            assert got == (tuple(value) if isinstance(value, list) else value)


def test_an_int_for_a_float_becomes_a_float():
    c = load_config("demo", {"hashing": {"lr": 1, "weight_decay": 0}, "gan": {"beta1": 0}})
    assert c.hashing.lr == 1.0 and type(c.hashing.lr) is float
    assert type(c.hashing.weight_decay) is float and type(c.gan.beta1) is float
    # int | float fields keep an int: it is a count, not a share.
    assert type(load_config("demo", {"data": {"query_per_class": 1}}).data.query_per_class) is int


def test_every_bundled_config_loads_and_round_trips(tmp_path):
    from importlib import resources

    names = [f.name[:-5] for f in (resources.files("dshgan") / "configs").iterdir()
             if f.name.endswith(".yaml")]
    assert "demo" in names
    for name in names:
        c = load_config(name)
        save_config(c, tmp_path / f"{name}.yaml")
        assert load_config(tmp_path / f"{name}.yaml") == c


def test_deep_baseline_names_match_the_trainer():
    from dshgan.config_checks import DEEP_BASELINES, GENERATOR_LOSSES
    from dshgan.train.deep_baseline import DEEP_BASELINES as TRAINED

    assert set(DEEP_BASELINES) == set(TRAINED)
    import torch

    from dshgan.losses.adversarial import generator_loss

    for mode in GENERATOR_LOSSES:  # each allowed name is one the loss accepts
        generator_loss(torch.zeros(2), mode)


@pytest.mark.parametrize(("overrides", "expected"), [
    # With no gan.image_size the GAN takes data.image_size, which must then be 4 * 2^k.
    ({"data": {"image_size": 48}}, r"data\.image_size: 48 .*gan\.image_size"),
    # The demo protocol keeps 6 of its 60 labelled images per class for validation.
    ({"data": {"labelled_per_class": 6}}, r"validation_per_class: .*fewer than the 6 .*got 6"),
    ({"data": {"validation_per_class": 60}}, r"validation_per_class: .*got 60"),
])
def test_fields_that_must_agree(overrides, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config("demo", overrides)


def test_cli_refuses_a_bad_value_before_making_the_run_folder(tmp_path, capsys):
    from dshgan.cli import main

    run = tmp_path / "run"
    assert main(["train", "--config", "demo", "--dry-run", "--set", "hashing.lr=abc",
                 "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert "hashing.lr" in err and "'abc'" in err and "Traceback" not in err
    assert not run.exists()


def test_gan_option_names_match_the_nets():
    from dshgan.config_checks import GAN_CONDITIONING, GAN_DISCRIMINATORS, GAN_UPSAMPLING
    from dshgan.nets.generator import CONDITIONING, UPSAMPLING
    from dshgan.train.gan_state import DISCRIMINATORS

    assert GAN_UPSAMPLING == UPSAMPLING and GAN_CONDITIONING == CONDITIONING
    assert GAN_DISCRIMINATORS == tuple(DISCRIMINATORS)


def test_naming_another_backbone_drops_the_files_arguments_for_its_own():
    demo = load_config("demo")
    assert demo.hashing.backbone_kwargs["trainable_blocks"] == 8
    other = load_config("demo", {"hashing": {"backbone": "small-cnn"}})
    assert other.hashing.backbone_kwargs == {}
    given = load_config("demo", {"hashing": {"backbone": "small-cnn",
                                             "backbone_kwargs": {"width": 4}}})
    assert given.hashing.backbone_kwargs == {"width": 4}
    same = load_config("demo", {"hashing": {"backbone": "efficientnet-lite0",
                                            "backbone_kwargs": {"input_size": 96}}})
    assert same.hashing.backbone_kwargs == {**demo.hashing.backbone_kwargs, "input_size": 96}
