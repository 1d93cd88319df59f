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


class HeadGenerator(torch.nn.Module):
    """The generator as it was before the upsample/conditioning options, verbatim: the
    defaults must build this very net (same parameters, same initial draws, same outputs)."""

    def __init__(self, num_classes, noise_dim, image_size, width, label_embedding_dim=64):
        import itertools
        import math

        from torch import nn

        super().__init__()
        steps = int(math.log2(image_size / 4))
        channels = [width * 2 ** (steps - 1 - i) for i in range(steps)]
        self.label_embedding = nn.Linear(num_classes, label_embedding_dim, bias=False)
        self.project = nn.Sequential(
            nn.Linear(noise_dim + label_embedding_dim, channels[0] * 16, bias=False),
            nn.BatchNorm1d(channels[0] * 16), nn.ReLU(inplace=True))
        layers = []
        for cin, cout in itertools.pairwise(channels):
            layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(channels[-1], 3, 4, stride=2, padding=1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)
        self._first_channels = channels[0]

    def forward(self, noise, labels):
        h = torch.cat([noise, self.label_embedding(labels.float())], dim=1)
        return self.upsample(self.project(h).view(-1, self._first_channels, 4, 4))


@pytest.mark.parametrize("size", [8, 32])
def test_the_defaults_build_the_net_of_before_the_options(size):
    torch.manual_seed(3)
    head = HeadGenerator(5, 8, size, 8)
    torch.manual_seed(3)
    g = ConditionalGenerator(5, noise_dim=8, image_size=size, width=8)
    assert list(g.state_dict()) == list(head.state_dict())
    for name, value in head.state_dict().items():
        assert torch.equal(g.state_dict()[name], value), name
    z, y = torch.randn(4, 8), torch.eye(5)[:4]
    assert torch.equal(g(z, y), head(z, y))


@pytest.mark.parametrize("size", [8, 16, 32, 64])
@pytest.mark.parametrize(("upsample", "conditioning"),
                         [("resize", "concat"), ("transposed", "batchnorm"),
                          ("resize", "batchnorm")])
def test_options_shape_range_and_gradients(size, upsample, conditioning):
    torch.manual_seed(0)
    g = ConditionalGenerator(5, noise_dim=8, image_size=size, width=8, upsample=upsample,
                             conditioning=conditioning)
    x = g(g.sample_noise(3), torch.eye(5)[:3])
    assert x.shape == (3, 3, size, size) and x.min() >= -1 and x.max() <= 1
    x.pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())


def test_resize_doubles_by_nearest_neighbour_then_a_3x3_conv():
    g = ConditionalGenerator(3, noise_dim=4, image_size=16, width=8, upsample="resize")
    kinds = [type(m).__name__ for m in g.upsample]
    assert kinds == ["Upsample", "Conv2d", "BatchNorm2d", "ReLU", "Upsample", "Conv2d", "Tanh"]
    assert all(m.kernel_size == (3, 3) and m.stride == (1, 1)
               for m in g.upsample if isinstance(m, torch.nn.Conv2d))
    assert all(m.mode == "nearest" and m.scale_factor == 2
               for m in g.upsample if isinstance(m, torch.nn.Upsample))
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())


@pytest.mark.parametrize("size", [8, 32])
def test_batchnorm_conditioning_labels_change_the_image_noise_alone_is_projected(size):
    from dshgan.nets.conditional_batchnorm import ConditionalBatchNorm2d

    torch.manual_seed(0)
    g = ConditionalGenerator(4, noise_dim=8, image_size=size, width=8,
                             conditioning="batchnorm").eval()
    assert not hasattr(g, "label_embedding") and g.project[0].in_features == 8
    blocks = sum(isinstance(m, ConditionalBatchNorm2d) for m in g.modules())
    assert blocks == int(torch.log2(torch.tensor(size / 4))), blocks  # 4 px and each doubling
    assert not any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))
                   and m.affine for m in g.modules())
    z = g.sample_noise(1).repeat(3, 1)
    a, b, c = g(z, torch.tensor([[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 0, 1.0, 1.0]]))
    assert not torch.allclose(a, b) and not torch.allclose(b, c)


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="upsample must be one of.*'bilinear'"):
        ConditionalGenerator(3, upsample="bilinear")
    with pytest.raises(ValueError, match="conditioning must be one of.*'film'"):
        ConditionalGenerator(3, conditioning="film")
