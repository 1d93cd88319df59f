import torch

from dshgan.config import HashingConfig
from dshgan.nets import ConditionalGenerator, HashingNet
from dshgan.train.hashing_losses import LossTerms
from dshgan.train.hashing_step import HashingUpdate

CPU = torch.device("cpu")


def step_once(**switches):
    torch.manual_seed(0)
    cfg = HashingConfig(backbone_kwargs={"width": 4}, **switches)
    net = HashingNet("small-cnn", [8], 3, backbone_kwargs={"width": 4}).train()
    g = ConditionalGenerator(3, noise_dim=4, image_size=16, width=4)
    update = HashingUpdate(cfg, net, g, CPU, total_steps=10)
    net0 = {k: v.clone() for k, v in net.state_dict().items()}
    g0 = {k: v.clone() for k, v in g.state_dict().items()}
    fake = g(torch.randn(2, 4), torch.eye(3)[:2])
    out = net(torch.cat([fake, torch.rand(2, 3, 16, 16)]))
    loss = out.hash[8].mean() + out.real_logit.mean()
    zero = torch.zeros(())
    update.apply(net, LossTerms(loss, -out.real_logit[:2].mean(), zero, zero, zero, None))

    def moved(before, module):
        return any(not torch.equal(before[k], v) for k, v in module.state_dict().items()
                   if v.dtype.is_floating_point)

    return update, moved(net0, net), moved(g0, g), net


def test_a_step_moves_the_net_and_the_generator_it_trains():
    update, net_moved, g_moved, _ = step_once()
    assert net_moved and g_moved and update.schedule.last_epoch == 1


def test_a_frozen_or_unused_generator_stays_put():
    assert not step_once(freeze_generator=True)[2]
    assert not step_once(use_synthetic=False)[2]


def test_the_average_follows_the_net_and_is_what_is_kept():
    update, _, _, net = step_once(weight_average_decay=0.5)
    assert update.average.updates == 1 and update.kept(net) is update.average.shadow
    assert step_once()[0].kept(net) is net
