import numpy as np
import pytest
import torch

from dshgan.config import GANConfig
from dshgan.nets.generator import ConditionalGenerator
from dshgan.train.gan_ema import GeneratorEMA
from dshgan.train.gan_state import GANState
from dshgan.train.gan_step import GANData, gan_step

CPU = torch.device("cpu")


def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    return GANData(images, np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)], images, False)


def test_stage_1_average_is_the_naive_average_of_the_weight_history():
    decay = 0.3  # the warm-up's (1 + t) / (10 + t) rises past it at t = 3: both rules used
    torch.manual_seed(0)
    state = GANState(GANConfig(steps=4, batch_size=8, width=8, noise_dim=16, ema_decay=decay),
                     4, 16, CPU, seed=1)
    history = [{k: v.clone() for k, v in state.generator.named_parameters()}]
    for _ in range(4):
        gan_step(state, data(), CPU)
        history.append({k: v.detach().clone() for k, v in state.generator.named_parameters()})
    average = state.ema.average
    for name, value in average.named_parameters():
        naive = history[0][name]
        for t, weights in enumerate(history[1:], start=1):
            d = min(decay, (1 + t) / (10 + t))  # avg_t = d_t avg_(t-1) + (1 - d_t) w_t
            naive = d * naive + (1 - d) * weights[name]
        torch.testing.assert_close(value, naive, rtol=1e-6, atol=1e-7)
        assert not torch.equal(value, history[-1][name])
    for (name, value), live in zip(average.named_buffers(), state.generator.buffers()):
        assert torch.equal(value, live), name  # running statistics copied, not averaged


def test_handed_on_generator_is_a_trainable_copy_of_the_average():
    torch.manual_seed(0)
    g = ConditionalGenerator(3, noise_dim=4, image_size=8, width=4)
    ema = GeneratorEMA(g, 0.5)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update(g)
    out = ema.generator(g.train())
    assert out.training and all(p.requires_grad for p in out.parameters())
    assert all(not p.requires_grad for p in ema.average.parameters())
    for a, b in zip(out.parameters(), ema.average.parameters()):
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()


def test_decay_outside_0_1_and_a_different_checkpoint_decay_are_refused():
    g = ConditionalGenerator(3, noise_dim=4, image_size=8, width=4)
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError, match="ema_decay"):
            GeneratorEMA(g, bad)
    with pytest.raises(ValueError, match="ema_decay 0.9, the config asks for 0.99"):
        GeneratorEMA(g, 0.99).load_state_dict(GeneratorEMA(g, 0.9).state_dict())
