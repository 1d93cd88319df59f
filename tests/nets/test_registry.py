import pytest
import torch

from dshgan.nets import create_backbone, list_backbones


def test_known_backbones():
    assert {"small-cnn", "efficientnet-lite0"} <= set(list_backbones())


def test_unknown_backbone_lists_known_ones():
    with pytest.raises(ValueError, match="small-cnn"):
        create_backbone("resnet-9000")


@pytest.mark.parametrize("name,kwargs", [
    ("small-cnn", {"width": 8}),
    ("efficientnet-lite0", {"pretrained": False, "input_size": 32}),
])
def test_every_backbone_gives_features_and_gradients(name, kwargs):
    net = create_backbone(name, **kwargs)
    x = torch.randn(2, 3, net.input_size, net.input_size)
    f = net.forward_features(x)
    assert f.shape == (2, net.feature_dim)
    f.sum().backward()
    assert any(p.grad is not None for p in net.parameters())


def test_pretrained_efficientnet_loads_imagenet_weights_and_freezes_early_blocks():
    fresh = create_backbone("efficientnet-lite0", pretrained=False)
    net = create_backbone("efficientnet-lite0", pretrained=True, trainable_blocks=2)
    w, w0 = net.net._conv_stem.weight, fresh.net._conv_stem.weight
    assert not torch.allclose(w, w0)  # the weights came from the package's file
    assert not w.requires_grad
    assert all(p.requires_grad for p in net.net._blocks[-1].parameters())
    net.train()
    assert not net.net._bn0.training  # frozen layers keep ImageNet statistics
