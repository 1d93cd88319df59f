import pytest
import torch

from dshgan.config import HashingConfig
from dshgan.train.hashing_setup import build_hashing_net


def build_lively_lite_net(c: HashingConfig, bits, num_classes,
                          build=build_hashing_net):
    """An untrained Lite0 whose codes differ from image to image: the package's random
    initialisation shrinks activations to about 1e-5, so every image would get the same code and
    comparisons of codes could not fail. He-initialised convolutions keep them alive."""
    net = build(c, bits, num_classes)
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    return net


@pytest.fixture
def lively_lite_net():
    return build_lively_lite_net
