import pytest
import torch

from dshgan.losses.mode_seeking import EPS, mode_seeking_loss


def test_equals_a_naive_loop_over_pairs():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, 4, 4, generator=g), torch.randn(5, 3, 4, 4, generator=g)
    za, zb = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    terms = []
    for i in range(5):
        image_gap = sum(abs(float(x)) for x in (a[i] - b[i]).flatten()) / a[i].numel()
        noise_gap = sum(abs(float(x)) for x in (za[i] - zb[i])) / za.shape[1]
        terms.append(1 / (image_gap / noise_gap + EPS))
    assert float(mode_seeking_loss(a, b, za, zb)) == pytest.approx(sum(terms) / 5, rel=1e-5)


def test_a_generator_ignoring_its_noise_pays_most():
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    same = torch.rand(4, 3, 8, 8)
    collapsed = mode_seeking_loss(same, same.clone(), z1, z2)
    diverse = mode_seeking_loss(same, torch.rand(4, 3, 8, 8), z1, z2)
    assert float(collapsed) == pytest.approx(1 / EPS)
    assert float(diverse) < 10


def test_unpaired_halves_are_refused():
    with pytest.raises(ValueError, match="pairs"):
        mode_seeking_loss(torch.zeros(3, 3, 4, 4), torch.zeros(2, 3, 4, 4), torch.zeros(3, 2),
                          torch.zeros(2, 2))
