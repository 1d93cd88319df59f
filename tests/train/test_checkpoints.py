import random

import numpy as np
import pytest
import torch

from dshgan.train.checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state


def test_random_states_survive_a_checkpoint(tmp_path):
    batches = torch.Generator().manual_seed(4)
    save_checkpoint(tmp_path / "c.pt", {"rng": rng_state(batches)})
    draws = (torch.rand(1, generator=batches), torch.rand(1), np.random.rand(), random.random())
    set_rng_state(load_checkpoint(tmp_path / "c.pt", torch.device("cpu"))["rng"], batches)
    again = (torch.rand(1, generator=batches), torch.rand(1), np.random.rand(), random.random())
    assert draws == again


def test_a_damaged_checkpoint_names_its_file(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="bad.pt"):
        load_checkpoint(tmp_path / "bad.pt", torch.device("cpu"))
