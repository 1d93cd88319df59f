import pytest
import torch

from dshgan.train.triplets import sample_disjoint_labels, sample_matching


def test_negatives_share_no_label_and_positives_share_one_multi_label():
    g = torch.Generator().manual_seed(0)
    pool = (torch.rand(60, 5, generator=g) < 0.3).float()
    pool[pool.sum(1) == 0, 0] = 1
    anchors = pool[:20]
    neg = sample_matching(anchors, pool, share=False, generator=g)
    pos = sample_matching(anchors, pool, share=True, generator=g, exclude=torch.arange(20))
    assert ((anchors * pool[neg]).sum(1) == 0).all()
    assert ((anchors * pool[pos]).sum(1) > 0).all()
    assert (pos != torch.arange(20)).all()


def test_draws_are_spread_over_the_candidates():
    g = torch.Generator().manual_seed(0)
    pool = torch.eye(4)
    picks = sample_matching(torch.eye(4)[[0]].repeat(3000, 1), pool, False, g)
    counts = torch.bincount(picks, minlength=4)
    assert counts[0] == 0 and (counts[1:] > 850).all()


def test_no_candidate_is_an_error():
    with pytest.raises(ValueError, match="shares no label"):
        sample_matching(torch.ones(1, 2), torch.eye(2), False, torch.Generator())


def test_disjoint_labels_fall_back_to_an_absent_concept():
    g = torch.Generator().manual_seed(0)
    pool = torch.tensor([[1.0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]])
    anchors = torch.tensor([[1.0, 0, 1, 0], [1.0, 1, 1, 0], [1.0, 0, 0, 0]])
    for _ in range(20):
        neg = sample_disjoint_labels(anchors, pool, g)
        assert ((anchors * neg).sum(1) == 0).all() and (neg.sum(1) >= 1).all()
        assert torch.equal(neg[1], torch.tensor([0.0, 0, 0, 1]))  # only candidate
    with pytest.raises(ValueError, match="every label"):
        sample_disjoint_labels(torch.ones(1, 4), pool, g)


def test_allow_missing_marks_anchors_without_candidates():
    picks = sample_matching(torch.ones(2, 2), torch.eye(2), False, torch.Generator(),
                            allow_missing=True)
    assert picks.tolist() == [-1, -1]
