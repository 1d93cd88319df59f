import pytest
import torch

from dshgan.losses.triplet import TripletRankingLoss


def naive(anchor, positive, negative, margin):
    values = []
    for a, p, n in zip(anchor.tolist(), positive.tolist(), negative.tolist()):
        d_pos = sum((x - y) ** 2 for x, y in zip(a, p))
        d_neg = sum((x - y) ** 2 for x, y in zip(a, n))
        values.append(max(0.0, margin - d_neg + d_pos))
    return values


@pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
def test_matches_naive_loop(margin):
    g = torch.Generator().manual_seed(1)
    a, p, n = (torch.rand(20, 12, generator=g, dtype=torch.float64) for _ in range(3))
    terms = TripletRankingLoss(margin)(a, p, n)
    expected = naive(a, p, n, margin)
    assert torch.allclose(terms.per_triplet, torch.tensor(expected, dtype=torch.float64))
    assert torch.isclose(terms.loss, torch.tensor(sum(expected) / 20, dtype=torch.float64))


def test_exact_values():
    a = torch.tensor([[0.0, 0.0]])
    loss = TripletRankingLoss(1.0)
    assert loss(a, a, torch.tensor([[1.0, 1.0]])).loss.item() == 0.0  # 1 - 2 + 0 < 0
    assert loss(a, torch.tensor([[1.0, 0.0]]), a).loss.item() == 2.0  # 1 - 0 + 1


def test_gradient_pulls_positive_and_pushes_negative():
    a = torch.full((1, 4), 0.5, requires_grad=True)
    p = torch.tensor([[0.9, 0.9, 0.9, 0.9]], requires_grad=True)
    n = torch.tensor([[0.6, 0.6, 0.6, 0.6]], requires_grad=True)
    TripletRankingLoss()(a, p, n).loss.backward()
    assert (p.grad > 0).all()  # descending moves p towards a (down)
    assert (n.grad < 0).all()  # descending moves n away from a (up)
    assert torch.autograd.gradcheck(
        lambda x, y, z: TripletRankingLoss()(x, y, z).loss,
        tuple(torch.rand(3, 5, dtype=torch.float64, requires_grad=True) for _ in range(3)))


def test_bad_input():
    with pytest.raises(ValueError):
        TripletRankingLoss(0)
    with pytest.raises(ValueError, match="shapes differ"):
        TripletRankingLoss()(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 4))
