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


def kill_after_first_checkpoint(module, train):
    """Run ``train()`` as if the process were killed right after its first checkpoint, which
    ``module.save_checkpoint`` writes (so the resumed run can be compared with a whole one)."""
    real_save = module.save_checkpoint

    def save_then_die(path, state):
        real_save(path, state)
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "save_checkpoint", save_then_die)
        with pytest.raises(KeyboardInterrupt):
            train()


@pytest.fixture
def killed_after_first_checkpoint():
    return kill_after_first_checkpoint
