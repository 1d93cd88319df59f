"""The weight average against a naive recomputation of the same recurrence."""

import pytest
import torch
from torch import nn

from dshgan.train.weight_average import WeightAverage


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
