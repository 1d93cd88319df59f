import torch

from dshgan.nets import Discriminator


def test_outputs_and_gradients():
    d = Discriminator(num_classes=6, image_size=32, width=8)
    out = d(torch.randn(5, 3, 32, 32))
    assert out.real_logit.shape == (5,)
    assert out.class_logits.shape == (5, 6)
    (out.real_logit.sum() + out.class_logits.sum()).backward()
    assert all(p.grad is not None for p in d.parameters())


def test_other_resolution():
    out = Discriminator(num_classes=2, image_size=64, width=4)(torch.randn(2, 3, 64, 64))
    assert out.class_logits.shape == (2, 2)
