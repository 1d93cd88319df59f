import numpy as np
import pytest
import torch

from dshgan.config import HashingConfig
from dshgan.nets import HashingNet
from dshgan.train.best_epoch import TrainingProgress
from dshgan.train.hashing_checkpoint import resume_hashing, save_hashing_checkpoint
from dshgan.train.hashing_step import HashingUpdate

CPU = torch.device("cpu")


def parts(decay=0.0):
    cfg = HashingConfig(use_synthetic=False, weight_average_decay=decay)
    net = HashingNet("small-cnn", [8], 3, backbone_kwargs={"width": 4})
    return net, HashingUpdate(cfg, net, None, CPU, total_steps=5), torch.Generator()


def test_save_then_resume_restores_weights_progress_and_random_draws(tmp_path):
    torch.manual_seed(0)
    net, update, batches = parts(decay=0.5)
    batches.manual_seed(3)
    update.average.update(net)
    run = TrainingProgress({"loss": [1.0]}, epoch=2, best_score=0.5, best_state=None)
    save_hashing_checkpoint(tmp_path / "c.pt", net, update, run, batches, [8])
    want = (torch.rand(2, generator=batches), torch.rand(2), np.random.rand())

    torch.manual_seed(1)
    net2, update2, batches2 = parts(decay=0.5)
    got = resume_hashing(tmp_path / "c.pt", CPU, net2, update2, batches2)
    assert (got.epoch, got.history, got.best_score) == (2, {"loss": [1.0]}, 0.5)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                  net2.state_dict().values()))
    assert update2.average.updates == 1
    assert torch.equal(torch.rand(2, generator=batches2), want[0])
    assert torch.equal(torch.rand(2), want[1]) and np.random.rand() == want[2]


def test_no_checkpoint_is_a_fresh_start_and_a_missing_average_is_refused(tmp_path):
    net, update, batches = parts()
    assert resume_hashing(tmp_path / "none.pt", CPU, net, update, batches) is None
    save_hashing_checkpoint(tmp_path / "c.pt", net, update, TrainingProgress({}), batches, [8])
    with pytest.raises(ValueError, match="without a weight average"):
        resume_hashing(tmp_path / "c.pt", CPU, *parts(decay=0.5))
