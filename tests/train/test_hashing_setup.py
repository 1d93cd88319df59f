import pytest

from dshgan.config import HashingConfig
from dshgan.train.hashing_setup import build_hashing_net, optimiser_groups


def cfg(**kw):
    return HashingConfig(**({"backbone_kwargs": {"width": 4}} | kw))


def test_backbone_lr_scale_sets_the_trunk_peak_rate():
    c = cfg(backbone_lr_scale=0.25, lr=0.004)
    net = build_hashing_net(c, [8], 4)
    groups, peaks = optimiser_groups(net, c)
    trunk = {id(p) for p in net.backbone.parameters()}
    assert peaks == [0.001, 0.004]
    assert all(id(p) in trunk for p in groups[0]["params"])
    assert not any(id(p) in trunk for p in groups[1]["params"])
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(net.parameters()))
    assert len(optimiser_groups(net, cfg())[0]) == 1
    with pytest.raises(ValueError, match="backbone_lr_scale"):
        optimiser_groups(net, cfg(backbone_lr_scale=-1.0))
