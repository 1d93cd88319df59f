import pytest
import torch

from dshgan.nets import ConditionalGenerator


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_shape_and_range(size):
    g = ConditionalGenerator(num_classes=5, noise_dim=8, image_size=size, width=8)
    x = g(g.sample_noise(3), torch.eye(5)[:3])
    assert x.shape == (3, 3, size, size)
    assert x.min() >= -1 and x.max() <= 1


def test_labels_change_the_image_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    g = ConditionalGenerator(num_classes=4, noise_dim=8, width=8).eval()
    z = g.sample_noise(1).repeat(2, 1)
    a, b = g(z, torch.tensor([[1.0, 0, 0, 0], [0, 0, 1.0, 1.0]]))  # multi-hot is accepted
    assert not torch.allclose(a, b)
    g.train()
    g(g.sample_noise(4), torch.eye(4)).pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


def test_bad_arguments():
    with pytest.raises(ValueError, match="4 \\* 2\\^k"):
        ConditionalGenerator(3, image_size=24)
    g = ConditionalGenerator(3, noise_dim=4, width=8)
    with pytest.raises(ValueError, match="width 4"):
        g(g.sample_noise(2), torch.zeros(2, 4))
