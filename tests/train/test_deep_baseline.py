import numpy as np
import pytest
import torch

from dshgan.config import HashingConfig
from dshgan.train import deep_baseline
from dshgan.train.deep_baseline import train_deep_baseline
from dshgan.train.encoding import encode_images
from dshgan.train.hashing_data import HashingData
from dshgan.train.validation import validation_map_leave_one_out

CPU = torch.device("cpu")


def held_out(images, labels):
    """The first 30 rows train, the rest validate."""
    return HashingData(images[:30], labels[:30], images[30:], labels[30:])


@pytest.mark.parametrize("method", ["dpsh", "dtsh"])
def test_trains_all_heads_and_encodes(tmp_path, method):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (36, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(3, dtype=np.uint8)[np.arange(36) % 3]
    cfg = HashingConfig(epochs=2, batch_size=4, backbone_kwargs={"width": 4})
    net, history = train_deep_baseline(method, cfg, [8, 16], held_out(images, labels), CPU,
                                       tmp_path / "b.pt", progress=False)
    assert len(history["loss"]) == 2 * 2 and all(np.isfinite(history["loss"]))
    codes = encode_images(net, images, CPU)
    assert codes[16].shape == (36, 16)
    # both validation views are logged; the kept epoch's leave-one-out view is recomputable
    assert len(history["val_map_loo"]) == len(history["val_map"]) == 2
    loo = validation_map_leave_one_out(net, images[30:], labels[30:], CPU)
    assert history["best_val_map_loo"] == pytest.approx(np.mean(list(loo.values())), abs=1e-12)


@pytest.mark.parametrize("every, stopped_at", [(0, (1, None)), (2, (0, 2))])
def test_a_killed_run_resumes_to_the_same_weights(tmp_path, every, stopped_at,
                                                  killed_after_first_checkpoint):
    """Killed at its first checkpoint: an epoch's end (every=0), or two steps into the first
    epoch of five steps (every=2); the resumed run ends where the uninterrupted one does."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (36, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(3, dtype=np.uint8)[np.arange(36) % 3]
    cfg = HashingConfig(epochs=2, batch_size=2, backbone_kwargs={"width": 4})  # 30 rows / 6
    data = held_out(images, labels)

    def train(name: str, checkpoint_every: int = every):
        return train_deep_baseline("dpsh", cfg, [8], data, CPU, tmp_path / name,
                                   progress=False, checkpoint_every=checkpoint_every)

    torch.manual_seed(5)
    train("warm.pt")  # the first run in a process rounds differently (fresh allocations)
    torch.manual_seed(0)
    ref, ref_history = train("ref.pt", 0)
    torch.manual_seed(0)
    killed_after_first_checkpoint(deep_baseline, lambda: train("run.pt"))
    stopped = torch.load(tmp_path / "run.pt", weights_only=False)
    position = stopped["position"] and stopped["position"]["done"]
    assert (stopped["epoch"], position) == stopped_at
    torch.manual_seed(99)
    net, history = train("run.pt")
    assert history["loss"] == ref_history["loss"] and len(history["loss"]) == 10
    for (name, a), b in zip(net.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(a, b), name
    last, ref_last = (torch.load(tmp_path / f, weights_only=False) for f in ("run.pt", "ref.pt"))
    for name, value in ref_last["net"].items():
        assert torch.equal(last["net"][name], value), name


def test_unknown_method(tmp_path):
    with pytest.raises(ValueError, match="dpsh"):
        train_deep_baseline("hashnet", HashingConfig(), [8], None, CPU, tmp_path / "x.pt")


def test_backbone_lr_scale_applies_as_in_stage_2(tmp_path):
    """A fair baseline gets the same trunk rate: with scale 0 its trunk does not move."""
    from dshgan.train.hashing_setup import build_hashing_net

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (36, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(3, dtype=np.uint8)[np.arange(36) % 3]
    cfg = HashingConfig(epochs=1, batch_size=4, backbone_kwargs={"width": 4},
                        backbone_lr_scale=0.0)
    torch.manual_seed(0)
    before = build_hashing_net(cfg, [8], 3).state_dict()
    torch.manual_seed(0)
    net, _ = train_deep_baseline("dpsh", cfg, [8], held_out(images, labels), CPU,
                                 tmp_path / "b.pt", progress=False)
    after = net.state_dict()
    trunk = [f"backbone.{name}" for name, _ in net.backbone.named_parameters()]
    assert trunk and all(torch.equal(before[k], after[k]) for k in trunk)
    assert not torch.equal(before["hash_heads.8.weight"], after["hash_heads.8.weight"])


def test_validation_pass_reuses_the_frozen_part_and_scores_the_same(tmp_path, monkeypatch,
                                                                   lively_lite_net):
    from dshgan.train import deep_baseline, encoding
    from dshgan.train.validation import validation_maps

    def refuse(*args, **kwargs):
        raise AssertionError("the validation pass re-ran the frozen part")

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (36, 16, 16, 3), dtype=np.uint8)
    labels = np.eye(3, dtype=np.uint8)[np.arange(36) % 3]
    cfg = HashingConfig(epochs=1, batch_size=4, backbone="efficientnet-lite0", backbone_kwargs={
        "pretrained": False, "input_size": 32, "trainable_blocks": 8})
    monkeypatch.setattr(encoding, "encode_images", refuse)
    monkeypatch.setattr(deep_baseline, "build_hashing_net", lively_lite_net)
    torch.manual_seed(0)
    net, history = train_deep_baseline("dpsh", cfg, [8, 16], held_out(images, labels), CPU,
                                       tmp_path / "b.pt", progress=False)
    monkeypatch.undo()
    val, loo = validation_maps(net, images[:30], labels[:30], images[30:], labels[30:], CPU)
    assert history["val_map"] == [{str(b): v for b, v in val.items()}]
    assert history["val_map_loo"] == [{str(b): v for b, v in loo.items()}]
    assert len({row.tobytes() for row in encode_images(net, images, CPU)[16]}) > 4
