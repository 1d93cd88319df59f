"""DPSH loss against a naive loop over pairs, plus gradients and input checks."""

import math

import pytest
import torch

from dshgan.losses.dpsh import DPSHLoss, pairwise_similarity


def _naive(u, labels, eta, bank_u=None, bank_labels=None):
    """The paper's formula pair by pair, with plain Python floats."""
    u = u.tolist()
    other = u if bank_u is None else bank_u.tolist()
    other_labels = labels if bank_labels is None else bank_labels
    total, count = 0.0, 0
    for i in range(len(u)):
        for j in range(len(other)):
            if bank_u is None and i == j:
                continue
            if labels.ndim == 1:
                s = float(labels[i] == other_labels[j])
            else:
                s = float(
                    any(a and b for a, b in zip(labels[i].tolist(), other_labels[j].tolist()))
                )
            theta = 0.5 * sum(a * b for a, b in zip(u[i], other[j]))
            total += -(s * theta - math.log(1 + math.exp(theta)))
            count += 1
    likelihood = total / count
    entries = [x for row in u for x in row]
    quantization = sum((x - math.copysign(1.0, x)) ** 2 for x in entries) / len(entries)
    return likelihood, quantization, likelihood + eta * quantization


def _close(terms, expected):
    for got, want in zip(terms, expected):
        assert got.item() == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_single_label_batch_matches_naive_loop(seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(7, 5, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, 3, (7,), generator=g)
    _close(DPSHLoss(eta=0.3)(u, labels), _naive(u, labels, 0.3))


def test_multi_label_batch_matches_naive_loop():
    g = torch.Generator().manual_seed(2)
    u = torch.randn(8, 6, generator=g, dtype=torch.float64)
    labels = (torch.rand(8, 4, generator=g) < 0.35).to(torch.uint8)
    labels[0] = 0  # an item without labels is dissimilar to every item
    _close(DPSHLoss(eta=0.1)(u, labels), _naive(u, labels, 0.1))


def test_memory_bank_matches_naive_loop():
    g = torch.Generator().manual_seed(3)
    u = torch.randn(4, 6, generator=g, dtype=torch.float64)
    bank = torch.randn(9, 6, generator=g, dtype=torch.float64)
    labels = (torch.rand(4, 3, generator=g) < 0.5).to(torch.uint8)
    bank_labels = (torch.rand(9, 3, generator=g) < 0.5).to(torch.uint8)
    terms = DPSHLoss(eta=2.0)(u, labels, bank, bank_labels)
    _close(terms, _naive(u, labels, 2.0, bank, bank_labels))


def test_large_outputs_stay_finite():
    u = torch.tensor([[40.0, 40.0], [40.0, 40.0], [-40.0, -40.0]])
    terms = DPSHLoss()(u, torch.tensor([0, 1, 1]))
    assert all(torch.isfinite(t) for t in terms)
    # theta = +-1600; pair (0, 1) is dissimilar with theta = 1600 and pair (1, 2) similar with
    # theta = -1600, each costing ~1600 (not inf) both ways; pair (0, 2) costs ~0.
    assert terms.likelihood.item() == pytest.approx(4 * 1600 / 6, rel=1e-6)


def test_similarity_matrix():
    multi = torch.tensor([[1, 0, 1], [0, 1, 0], [0, 0, 1]])
    expected = torch.tensor([[True, False, True], [False, True, False], [True, False, True]])
    assert torch.equal(pairwise_similarity(multi), expected)
    assert torch.equal(pairwise_similarity(torch.tensor([2, 0, 2])), expected)


def test_gradcheck():
    g = torch.Generator().manual_seed(4)
    u = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    bank = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 2, 1])
    bank_labels = torch.tensor([1, 1, 0, 2])
    loss = DPSHLoss(eta=0.5)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels).total, (u,))
    assert torch.autograd.gradcheck(lambda x, b: loss(x, labels, b, bank_labels).total, (u, bank))


def test_gradient_pulls_similar_pairs_together():
    u = torch.tensor([[1.0, -1.0], [-1.0, 1.0]], requires_grad=True)
    DPSHLoss(eta=0.0)(u, torch.tensor([0, 0])).total.backward()
    # Descending the gradient must raise u0 . u1 for a similar pair.
    step = u.detach() - 0.1 * u.grad
    assert (step[0] @ step[1]).item() > (u[0] @ u[1]).item()


def test_bad_input_is_refused():
    loss = DPSHLoss()
    u = torch.randn(4, 3)
    with pytest.raises(ValueError, match="rows"):
        loss(u, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="2-D"):
        loss(u[0], torch.tensor([0]))
    with pytest.raises(TypeError, match="floating"):
        loss(torch.ones(4, 3, dtype=torch.long), torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="at least 2"):
        loss(u[:1], torch.tensor([0]))
    with pytest.raises(ValueError, match="both"):
        loss(u, torch.tensor([0, 1, 2, 3]), bank_outputs=u)
    with pytest.raises(ValueError, match="bits"):
        loss(u, torch.tensor([0, 1, 2, 3]), torch.randn(5, 2), torch.tensor([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match="classes"):
        loss(u, torch.eye(4), torch.randn(5, 3), torch.ones(5, 2))
    with pytest.raises(ValueError, match="eta"):
        DPSHLoss(eta=-1)
