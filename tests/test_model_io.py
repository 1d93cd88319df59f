"""Loading a `dshgan reproduce` unit's kept net back (`load_reproduce_checkpoint`)."""

import shutil

import numpy as np
import pytest
import torch

from dshgan import reproduce as reproduce_module
from dshgan.data import make_split, make_toy_dataset
from dshgan.model_io import load_reproduce_checkpoint
from dshgan.reproduce import reproduce
from dshgan.train.validation import validation_map_leave_one_out
from tests.test_reproduce import single_label_protocol, tiny


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    results = reproduce("cifar10", out, bits=(12, 48), progress=False,
                        config=tiny(use_synthetic=False, use_adversary_stream=False),
                        dataset=dataset, protocol=single_label_protocol(), ablations=False,
                        baselines=False)
    return out, dataset, results


def test_kept_net_scores_what_the_run_recorded(finished_run):
    out, dataset, results = finished_run
    net, state = load_reproduce_checkpoint(out, 0, dataset.num_classes)
    assert sorted(net.bits) == [12, 48] and not net.training
    assert state["path"].endswith(".pt")
    split = make_split(dataset, single_label_protocol(), seed=0)
    loo = validation_map_leave_one_out(net, dataset.images[split.validation],
                                       dataset.labels[split.validation], torch.device("cpu"))
    recorded = results["table"][reproduce_module.REAL_TRIPLETS]["48"]["runs"][0]
    assert np.mean(list(loo.values())) == pytest.approx(recorded["best_val_map_loo"], abs=1e-12)


def test_missing_and_ambiguous_checkpoints(finished_run, tmp_path):
    out, dataset, _ = finished_run
    with pytest.raises(FileNotFoundError, match="nope.pt not found"):
        load_reproduce_checkpoint(out, 0, dataset.num_classes, checkpoint="nope.pt")
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    folder = copy / "seed0" / "checkpoints"
    only = next(folder.glob("*.pt"))
    shutil.copy(only, folder / "other.pt")
    with pytest.raises(ValueError, match="name one as checkpoint"):
        load_reproduce_checkpoint(copy, 0, dataset.num_classes)
    net, _ = load_reproduce_checkpoint(copy, 0, dataset.num_classes, checkpoint="other.pt")
    assert sorted(net.bits) == [12, 48]


def test_last_and_last_average_weights(finished_run, tmp_path):
    out, dataset, _ = finished_run
    _, state = load_reproduce_checkpoint(out, 0, dataset.num_classes)
    last, _ = load_reproduce_checkpoint(out, 0, dataset.num_classes, weights="last")
    for k, v in last.state_dict().items():
        assert torch.equal(v, state["net"][k]), k
    with pytest.raises(ValueError, match="kept no weight average"):
        load_reproduce_checkpoint(out, 0, dataset.num_classes, weights="last-average")
    with pytest.raises(ValueError, match="weights must be one of"):
        load_reproduce_checkpoint(out, 0, dataset.num_classes, weights="best")
    averaged = tmp_path / "averaged"
    reproduce("cifar10", averaged, bits=(12, 48), progress=False,
              config=tiny(use_synthetic=False, use_adversary_stream=False,
                          weight_average_decay=0.9), dataset=dataset,
              protocol=single_label_protocol(), validation_only=True)
    net, state = load_reproduce_checkpoint(averaged, 0, dataset.num_classes,
                                           weights="last-average")
    for k, v in net.state_dict().items():
        assert torch.equal(v, state["weight_average"]["shadow"][k]), k


def test_model_pt_rebuilds_the_generator_with_its_options(tmp_path):
    """model.pt as experiment._save_model writes it, for a run whose G resized and used
    conditional batch norm: the loader must build that G, not the default one."""
    from dshgan.config import RunConfig, config_to_dict, load_config
    from dshgan.model_io import load_trained_model
    from dshgan.nets import HashingNet
    from dshgan.train.checkpoints import save_checkpoint
    from dshgan.train.gan_state import build_generator

    gan = {"noise_dim": 8, "width": 8, "upsample": "resize", "conditioning": "batchnorm"}
    config = load_config(overrides={"gan": gan})
    assert isinstance(config, RunConfig)
    torch.manual_seed(0)
    generator = build_generator(config.gan, 3, 16)
    generator(generator.sample_noise(4), torch.eye(3)[[0, 1, 2, 0]])  # running statistics move
    net = HashingNet(config.hashing.backbone, [12], 3)
    save_checkpoint(tmp_path / "model.pt", {
        "nets": [{"bits": net.bits, "state": net.state_dict()}],
        "generator": generator.state_dict(), "config": config_to_dict(config),
        "class_names": ["a", "b", "c"], "multi_label": False, "image_size": [32, 32],
        "gan_image_size": 16})
    loaded = load_trained_model(tmp_path, torch.device("cpu")).generator
    assert (loaded.upsample_mode, loaded.conditioning) == ("resize", "batchnorm")
    for name, value in generator.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name
    z, y = torch.randn(2, 8), torch.eye(3)[:2]
    assert torch.equal(loaded(z, y), generator.eval()(z, y))
