import numpy as np
import pytest
import torch

from dshgan.config import HashingConfig
from dshgan.nets import ConditionalGenerator
from dshgan.nets.hashing_net import HashingNet
from dshgan.train import self_training
from dshgan.train.hashing_data import HashingData
from dshgan.train.self_training import (
    class_probabilities,
    select_pseudo_labels,
    train_hashing_self_trained,
)

CPU = torch.device("cpu")


def test_single_label_keeps_confident_rows_most_confident_first_per_class():
    probs = np.array([
        [0.95, 0.05, 0.0],  # class 0, kept
        [0.50, 0.50, 0.0],  # unsure, dropped
        [0.99, 0.01, 0.0],  # class 0, most confident: kept first
        [0.92, 0.08, 0.0],  # class 0, third: over the cap of 2
        [0.0, 0.05, 0.95],  # class 2, kept
    ])
    rows, labels = select_pseudo_labels(probs, False, threshold=0.9, per_class=2)
    assert rows.tolist() == [0, 2, 4]
    assert labels.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    rows, _ = select_pseudo_labels(probs, False, threshold=0.9, per_class=None)
    assert rows.tolist() == [0, 2, 3, 4]


def test_multi_label_needs_every_concept_decided_and_one_present():
    probs = np.array([
        [0.95, 0.97, 0.02],  # labels {0, 1}
        [0.95, 0.60, 0.02],  # concept 1 undecided: dropped
        [0.05, 0.03, 0.02],  # nothing present: dropped
        [0.02, 0.04, 0.99],  # label {2}
    ])
    rows, labels = select_pseudo_labels(probs, True, threshold=0.9, per_class=None)
    assert rows.tolist() == [0, 3]
    assert labels.tolist() == [[1, 1, 0], [0, 0, 1]]


def test_threshold_outside_range_is_an_error():
    with pytest.raises(ValueError, match="threshold"):
        select_pseudo_labels(np.ones((2, 2)) / 2, False, threshold=1.0, per_class=None)


def test_class_probabilities_are_the_classification_stream_in_batches():
    torch.manual_seed(0)
    net = HashingNet("small-cnn", [8], 3, backbone_kwargs={"width": 4}).eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    probs = class_probabilities(net, images, False, CPU, batch_size=2)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        expected = net(x).class_logits.softmax(1)
    np.testing.assert_allclose(probs, expected.numpy(), atol=1e-6)
    assert np.allclose(probs.sum(1), 1)
    multi = class_probabilities(net, images, True, CPU, batch_size=2)
    with torch.no_grad():
        np.testing.assert_allclose(multi, torch.sigmoid(net(x).class_logits).numpy(), atol=1e-6)


def _data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    return images, np.eye(4, dtype=np.uint8)[np.arange(64) % 4]


def _confident_on_the_first_ten(net, images, multi_label, device, progress=False):
    """A stand-in classifier: sure of class (row % 4) for the first 10 rows, unsure after."""
    probs = np.full((len(images), 4), 0.25)
    probs[np.arange(10), np.arange(10) % 4] = 0.97
    probs[:10] = np.where(probs[:10] == 0.97, 0.97, 0.01)
    return probs


def _run(tmp_path):
    images, labels = _data()
    torch.manual_seed(0)
    g = ConditionalGenerator(4, noise_dim=8, image_size=16, width=8)
    cfg = HashingConfig(epochs=2, batch_size=8, backbone_kwargs={"width": 4},
                        self_training_rounds=1, self_training_epochs=1,
                        pseudo_label_threshold=0.9, pseudo_labels_per_class=2)
    data = HashingData(images[:16], labels[:16], images[16:24], labels[16:24],
                       unlabelled=images[24:])
    return train_hashing_self_trained(cfg, [8], data, g, CPU, tmp_path / "s2.pt", progress=False)


def test_a_round_adds_pseudo_labelled_anchors_and_keeps_the_best_round(tmp_path, monkeypatch):
    sizes = []
    real_train = self_training.train_hashing

    def spy(cfg, bits, data, *args, **kwargs):
        sizes.append((len(data.train_images), cfg.epochs, kwargs.get("init_state") is not None))
        if data.val_database is not None:  # rounds are scored against the true labels only
            assert len(data.val_database[0]) == 16
        return real_train(cfg, bits, data, *args, **kwargs)

    monkeypatch.setattr(self_training, "train_hashing", spy)
    monkeypatch.setattr(self_training, "class_probabilities", _confident_on_the_first_ten)
    _, history = _run(tmp_path)
    saved = np.load(tmp_path / "s2.round1.labels.npz")
    # Confident rows 0-9 hold classes 0,1,2,3,0,1,2,3,0,1; at most 2 per class are kept.
    assert saved["rows"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert saved["labels"].argmax(1).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    # Round 0 trains on the labels from ImageNet/scratch; round 1 continues with 8 more anchors.
    assert sizes == [(16, 2, False), (24, 1, True)] and len(history["val_map"]) in (1, 2)
    assert [r["round"] for r in history["rounds"]] == [0, 1]
    assert history["rounds"][1]["pseudo_labelled"] == len(saved["rows"])
    best = max(history["rounds"], key=lambda r: r["best_val_map"])
    assert history["kept_round"] == best["round"]
    assert history["best_val_map"] == best["best_val_map"]
    assert (tmp_path / "s2.round1.pt").exists()


def test_rerun_resumes_every_round_from_its_files(tmp_path, monkeypatch):
    monkeypatch.setattr(self_training, "class_probabilities", _confident_on_the_first_ten)
    net, history = _run(tmp_path)
    monkeypatch.setattr(self_training, "class_probabilities",
                        lambda *a, **k: pytest.fail("pseudo-labels were computed again"))
    net2, history2 = _run(tmp_path)
    assert history2["rounds"] == history["rounds"]
    for a, b in zip(net.state_dict().values(), net2.state_dict().values()):
        assert torch.equal(a, b)


def test_a_round_runs_its_own_epochs_at_its_own_learning_rate():
    cfg = HashingConfig(epochs=10, lr=1e-3, self_training_epochs=3)
    assert (self_training._round_config(cfg).epochs, self_training._round_config(cfg).lr) == (
        3, 1e-3)
    lowered = self_training._round_config(
        HashingConfig(epochs=10, lr=1e-3, self_training_epochs=3, self_training_lr=2e-4))
    assert (lowered.epochs, lowered.lr) == (3, 2e-4)


def test_the_seconds_trained_are_stage_2_and_every_round_together(tmp_path, monkeypatch):
    monkeypatch.setattr(self_training, "class_probabilities", _confident_on_the_first_ten)
    seconds = []
    real_train = self_training.train_hashing

    def spy(*args, **kwargs):
        net, history = real_train(*args, **kwargs)
        seconds.append(history["train_seconds"])
        return net, history

    monkeypatch.setattr(self_training, "train_hashing", spy)
    _, history = _run(tmp_path)  # stage 2, then one round
    assert len(seconds) == 2 and all(s > 0 for s in seconds)
    assert history["train_seconds"] == pytest.approx(sum(seconds))
