import pytest
import torch

from dshgan.nets import HashingNet
from dshgan.train.best_epoch import TrainingProgress


def test_the_best_epoch_is_kept_and_restored():
    torch.manual_seed(0)
    net = HashingNet("small-cnn", [8, 16], 3, backbone_kwargs={"width": 4})
    run = TrainingProgress({"val_map": [], "val_map_loo": []})
    snapshots = []
    for score in (0.2, 0.6, 0.4):
        with torch.no_grad():
            net.hash_heads["8"].weight.add_(1.0)  # each epoch's weights differ
        snapshots.append(net.hash_heads["8"].weight.clone())
        run.record_epoch(net, {8: score, 16: score}, {8: score / 2, 16: score / 2})
        run.epoch += 1
    kept, history = run.finish(net)
    assert history["best_epoch"] == 1 and history["best_val_map"] == 0.6
    assert history["best_val_map_loo"] == pytest.approx(0.3)
    assert torch.equal(kept.hash_heads["8"].weight, snapshots[1]) and not kept.training
