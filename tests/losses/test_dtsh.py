"""DTSH loss against a naive loop over triplets, plus gradients and input checks."""

import math

import pytest
import torch

from dshgan.losses import dtsh
from dshgan.losses.dtsh import DTSHLoss


def _naive(u, labels, alpha, lam):
    """The paper's formula triplet by triplet, with plain Python floats."""
    rows = u.tolist()

    def shares(i, j):
        if labels.ndim == 1:
            return bool(labels[i] == labels[j])
        return any(a and b for a, b in zip(labels[i].tolist(), labels[j].tolist()))

    def theta(i, j):
        return 0.5 * sum(a * b for a, b in zip(rows[i], rows[j]))

    total, count = 0.0, 0
    n = len(rows)
    for i in range(n):
        for j in range(n):
            if j == i or not shares(i, j):
                continue
            for k in range(n):
                if shares(i, k):
                    continue
                x = theta(i, j) - theta(i, k) - alpha
                total += -(x - math.log(1 + math.exp(x)))
                count += 1
    likelihood = total / count if count else 0.0
    entries = [x for row in rows for x in row]
    quantization = sum((x - math.copysign(1.0, x)) ** 2 for x in entries) / len(entries)
    return likelihood, quantization, likelihood + lam * quantization, count


def _close(terms, expected):
    for got, want in zip(terms[:3], expected[:3]):
        assert got.item() == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert terms.n_triplets == expected[3]


@pytest.mark.parametrize("seed", [0, 1])
def test_single_label_batch_matches_naive_loop(seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(8, 5, generator=g, dtype=torch.float64) * 2
    labels = torch.randint(0, 3, (8,), generator=g)
    _close(DTSHLoss(alpha=1.5, lam=0.3)(u, labels), _naive(u, labels, 1.5, 0.3))


def test_multi_label_batch_matches_naive_loop():
    g = torch.Generator().manual_seed(2)
    u = torch.randn(9, 6, generator=g, dtype=torch.float64)
    labels = (torch.rand(9, 4, generator=g) < 0.35).to(torch.uint8)
    labels[0] = 0  # no label: never a positive, always a negative
    expected = _naive(u, labels, 5.0, 1.0)
    assert expected[3] > 0
    _close(DTSHLoss()(u, labels), expected)


def test_anchor_chunking_gives_the_same_result(monkeypatch):
    g = torch.Generator().manual_seed(5)
    u = torch.randn(12, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 3, (12,), generator=g)
    whole = DTSHLoss(alpha=2.0)(u, labels)
    monkeypatch.setattr(dtsh, "_CHUNK_ELEMENTS", 3 * 12 * 12)  # three anchors per chunk
    chunked = DTSHLoss(alpha=2.0)(u, labels)
    assert chunked.n_triplets == whole.n_triplets
    assert torch.allclose(chunked.total, whole.total, rtol=1e-12)


def test_no_valid_triplet_gives_zero_likelihood_with_a_gradient_path():
    u = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    terms = DTSHLoss()(u, torch.tensor([1, 1, 1, 1]))  # no negatives
    assert terms.n_triplets == 0 and terms.likelihood.item() == 0.0
    terms.total.backward()
    assert u.grad is not None


def test_large_outputs_stay_finite():
    u = torch.tensor([[40.0, 40.0], [-40.0, -40.0], [40.0, 40.0]])
    terms = DTSHLoss(alpha=0.0)(u, torch.tensor([0, 0, 1]))
    assert all(torch.isfinite(t) for t in terms[:3])
    # Triplet (0,1,2): theta_ij = -1600, theta_ik = 1600, loss softplus(3200) = 3200 (not inf);
    # triplet (1,0,2): theta_ij = theta_ik = -1600, loss softplus(0) = log 2.
    assert terms.likelihood.item() == pytest.approx((3200 + math.log(2)) / 2, rel=1e-6)


def test_gradcheck():
    g = torch.Generator().manual_seed(4)
    u = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[1, 0], [1, 1], [0, 1], [1, 0], [0, 1], [0, 0]])
    loss = DTSHLoss(alpha=1.0, lam=0.5)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels).total, (u,))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="rows"):
        DTSHLoss()(torch.randn(4, 3), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="class ids"):
        DTSHLoss()(torch.randn(3, 3), torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="alpha"):
        DTSHLoss(alpha=-1)
    with pytest.raises(ValueError, match="lam"):
        DTSHLoss(lam=-0.1)
