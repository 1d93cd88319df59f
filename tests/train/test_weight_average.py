"""The weight average against a naive recomputation of the same recurrence: stage 2's
(``hashing.weight_average_decay``) and stage 1's (``gan.ema_decay``: buffers copied, warm-up
counted from 1)."""

import numpy as np
import pytest
import torch
from torch import nn

from dshgan.config import GANConfig
from dshgan.nets.generator import ConditionalGenerator
from dshgan.train.gan_state import GANState
from dshgan.train.gan_step import GANData, gan_step
from dshgan.train.weight_average import WeightAverage

CPU = torch.device("cpu")


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_average_follows_the_warm_up_recurrence_and_copies_integer_buffers():
    net = small_net()
    average = WeightAverage(net, decay=0.9)
    naive = {k: v.clone() for k, v in net.state_dict().items()}
    for t in range(25):  # past the warm-up: (1 + t) / (10 + t) exceeds 0.9 from t = 80 on only
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
            net[1].num_batches_tracked += 1
        d = min(0.9, (1 + t) / (10 + t))
        for k, v in net.state_dict().items():
            naive[k] = d * naive[k] + (1 - d) * v if v.dtype.is_floating_point else v.clone()
        average.update(net)
    for k, v in average.shadow.state_dict().items():
        if v.dtype.is_floating_point:
            torch.testing.assert_close(v, naive[k], rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(v, naive[k]), k
    assert int(average.shadow[1].num_batches_tracked) == 25
    assert not any(p.requires_grad for p in average.shadow.parameters())


def test_the_first_update_leans_on_the_live_weights():
    net = small_net()
    average = WeightAverage(net, decay=0.999)
    start = net[0].weight.detach().clone()
    with torch.no_grad():
        net[0].weight.add_(1.0)
    average.update(net)  # effective decay 1/10, not 0.999
    torch.testing.assert_close(average.shadow[0].weight, start + 0.9)


def test_state_round_trip_continues_the_same_average():
    net = small_net()
    a = WeightAverage(net, decay=0.5)
    for _ in range(3):
        with torch.no_grad():
            net[0].weight.mul_(1.5)
        a.update(net)
    b = WeightAverage(small_net(), decay=0.5)
    b.load_state_dict(a.state_dict())
    a.update(net)
    b.update(net)
    assert b.updates == a.updates == 4
    torch.testing.assert_close(b.shadow[0].weight, a.shadow[0].weight)


def test_bad_decays_are_refused():
    for decay in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="decay must be in"):
            WeightAverage(small_net(), decay)
    state = WeightAverage(small_net(), 0.9).state_dict()
    with pytest.raises(ValueError, match="decay 0.9"):
        WeightAverage(small_net(), 0.99).load_state_dict(state)


def test_a_frozen_tensor_stays_bit_for_bit_the_same():
    net = small_net()
    net[0].weight.requires_grad_(False)  # frozen: the optimiser never moves it
    frozen = net[0].weight.detach().clone()
    average = WeightAverage(net, decay=0.997)
    naive = frozen.clone()
    for t in range(50):
        with torch.no_grad():
            net[0].bias.add_(1.0)
        average.update(net)
        d = min(0.997, (1 + t) / (10 + t))
        naive.mul_(d).add_(frozen, alpha=1 - d)
    assert torch.equal(average.shadow[0].weight, frozen)
    assert not torch.equal(naive, frozen)  # averaging it would have rounded it away
    assert not torch.equal(average.shadow[0].bias, net[0].bias)  # the rest is still averaged


def test_stage_1_settings_copy_every_buffer_and_count_the_warm_up_from_1():
    net = small_net()
    average = WeightAverage(net, decay=0.9, buffers="copy", warmup_start=1)
    naive = {k: v.clone() for k, v in net.state_dict().items()}
    buffers = {k for k, _ in net.named_buffers()}
    for t in range(1, 26):  # the t-th update: d_t = min(d, (1 + t) / (10 + t))
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
            for b in (net[1].running_mean, net[1].running_var):
                b.mul_(1.5)
            net[1].num_batches_tracked += 1
        d = min(0.9, (1 + t) / (10 + t))
        for k, v in net.state_dict().items():
            naive[k] = v.clone() if k in buffers else d * naive[k] + (1 - d) * v
        average.update(net)
    for k, v in average.shadow.state_dict().items():
        if k in buffers:
            assert torch.equal(v, net.state_dict()[k]), k  # copied, not averaged
        else:
            torch.testing.assert_close(v, naive[k], rtol=1e-6, atol=1e-6)
            assert not torch.equal(v, net.state_dict()[k]), k


def gan_data():
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
        gan_step(state, gan_data(), CPU)
        history.append({k: v.detach().clone() for k, v in state.generator.named_parameters()})
    average = state.ema.shadow
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
    ema = WeightAverage(g, 0.5, buffers="copy", warmup_start=1)
    start = [p.detach().clone() for p in g.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update(g)
    d = min(0.5, (1 + 1) / (10 + 1))  # the first update is stage 1's t = 1
    for a, w in zip(ema.shadow.parameters(), start):
        torch.testing.assert_close(a, d * w + (1 - d) * (w + 1.0))
    out = ema.trainable_copy(g.train())
    assert out.training and all(p.requires_grad for p in out.parameters())
    assert not ema.trainable_copy(g.eval()).training
    assert all(not p.requires_grad for p in ema.shadow.parameters())
    for a, b in zip(out.parameters(), ema.shadow.parameters()):
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()


def test_a_stage_1_checkpoint_from_before_the_merge_resumes_the_same_average(tmp_path):
    """gan_ema.GeneratorEMA saved {"decay", "updates", "average"}: such a checkpoint must go on
    exactly as a run that was never stopped."""
    cfg = GANConfig(steps=4, batch_size=8, width=8, noise_dim=16, ema_decay=0.9)
    torch.manual_seed(0)
    first = GANState(cfg, 4, 16, CPU, seed=5)
    for _ in range(2):
        gan_step(first, gan_data(), CPU)
    first.save(tmp_path / "s1.pt")
    saved = torch.load(tmp_path / "s1.pt", weights_only=False)
    ema = saved["generator_ema"]
    saved["generator_ema"] = {"decay": ema["decay"], "updates": ema["updates"],
                              "average": ema["shadow"]}  # the old layout, nothing else
    torch.save(saved, tmp_path / "old.pt")
    torch.manual_seed(1)  # other initial weights: the average must come from the file
    again = GANState(cfg, 4, 16, CPU, seed=5)
    again.resume(tmp_path / "old.pt", CPU)
    assert again.ema.updates == 2
    for state in (first, again):
        gan_step(state, gan_data(), CPU)
    for (name, a), b in zip(first.ema.shadow.state_dict().items(),
                            again.ema.shadow.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_an_unknown_buffer_rule_is_refused():
    with pytest.raises(ValueError, match="buffers must be 'average' or 'copy'"):
        WeightAverage(small_net(), 0.9, buffers="skip")
