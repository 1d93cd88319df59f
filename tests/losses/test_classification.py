import math

import torch

from dshgan.losses.classification import classification_loss


def test_single_label_is_softmax_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([[1, 0, 0], [0, 0, 1]])
    expected = 0.0
    for row, target in zip(logits.tolist(), [0, 2]):
        expected += -row[target] + math.log(sum(math.exp(v) for v in row))
    assert math.isclose(classification_loss(logits, labels, False).item(), expected / 2,
                        rel_tol=1e-6)


def test_multi_label_is_mean_sigmoid_cross_entropy():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5]])
    labels = torch.tensor([[1, 1], [0, 1]])
    expected = 0.0
    for row, target in zip(logits.tolist(), labels.tolist()):
        for z, t in zip(row, target):
            p = 1 / (1 + math.exp(-z))
            expected += -(t * math.log(p) + (1 - t) * math.log(1 - p))
    assert math.isclose(classification_loss(logits, labels, True).item(), expected / 4,
                        rel_tol=1e-6)
