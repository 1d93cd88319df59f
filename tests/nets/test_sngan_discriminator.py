import pytest
import torch

from dshgan.nets.sngan_discriminator import SNGANDiscriminator


@pytest.mark.parametrize("size", [16, 32, 64])
def test_outputs_and_gradients(size):
    d = SNGANDiscriminator(num_classes=6, image_size=size, width=4)
    out = d(torch.randn(3, 3, size, size))
    assert out.real_logit.shape == (3,) and out.class_logits.shape == (3, 6)
    (out.real_logit.sum() + out.class_logits.sum()).backward()
    assert all(p.grad is not None for p in d.parameters())


def test_the_table_3_layout_at_32_px():
    """Miyato et al. 2018, Table 3, widths scaled by width / 64: 3x3 s1 and 4x4 s2 pairs at
    width, 2 width, 4 width, a last 3x3 s1 conv at 8 width, all spectrally normalised, lReLU
    0.1, on 4x4 features."""
    d = SNGANDiscriminator(num_classes=10, image_size=32, width=8)
    convs = [m for m in d.trunk if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size[0], c.stride[0], c.out_channels) for c in convs] == [
        (3, 1, 8), (4, 2, 8), (3, 1, 16), (4, 2, 16), (3, 1, 32), (4, 2, 32), (3, 1, 64)]
    assert all(hasattr(c, "parametrizations") for c in convs)  # spectral norm on each
    assert hasattr(d.real_head, "parametrizations") and d.real_head.in_features == 64 * 4 * 4
    slopes = {m.negative_slope for m in d.trunk if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.1} and d.class_head.out_features == 10


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="4 \\* 2\\^k"):
        SNGANDiscriminator(3, image_size=24)
