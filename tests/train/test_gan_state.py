import numpy as np
import torch

from dshgan.config import GANConfig
from dshgan.train.gan_state import GANState
from dshgan.train.gan_step import GANData, gan_step

CPU = torch.device("cpu")
CFG = GANConfig(steps=3, batch_size=8, width=8, noise_dim=16)


def test_a_saved_state_resumes_nets_optimisers_history_and_random_draws(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    data = GANData(images, np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)], images, False)
    torch.manual_seed(0)
    first = GANState(CFG, 4, 16, CPU, seed=5)
    gan_step(first, data, CPU)
    first.step, first.history["d_loss"] = 1, [0.5]
    first.save(tmp_path / "s1.pt")

    torch.manual_seed(1)  # other initial weights: all must come from the file
    again = GANState(CFG, 4, 16, CPU, seed=99)
    again.resume(tmp_path / "s1.pt", CPU)
    assert again.step == 1 and again.history["d_loss"] == [0.5]
    for a, b in zip(first.generator.state_dict().values(), again.generator.state_dict().values()):
        assert torch.equal(a, b)
    assert gan_step(first, data, CPU) == gan_step(again, data, CPU)


def test_resume_without_a_file_starts_fresh(tmp_path):
    s = GANState(CFG, 4, 16, CPU, seed=0)
    s.resume(tmp_path / "missing.pt", CPU)
    assert s.step == 0 and s.history["d_loss"] == []
