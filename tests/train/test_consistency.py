import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dshgan.config import HashingConfig
from dshgan.nets import HashingNet
from dshgan.train.consistency import confident_targets, consistency_term, strong_augment
from dshgan.train.hashing_data import HashingData
from dshgan.train.image_tensors import augment
from dshgan.train.stage2_hashing import train_hashing

CPU = torch.device("cpu")


def images(n=6, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_strong_augment_is_seeded_in_range_and_cuts_out_a_half_side_square():
    x = images()
    a = strong_augment(x, torch.Generator().manual_seed(1))
    b = strong_augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape
    assert a.min() >= -1 and a.max() <= 1
    # without colour jitter, only the cutout differs from the weak view drawn with the same seed
    plain = augment(x, torch.Generator().manual_seed(1))
    cut = strong_augment(x, torch.Generator().manual_seed(1), jitter=0.0)
    changed = ((cut - plain).abs() > 1e-5).any(dim=1)  # (n, H, W); jitter 0 still rounds
    assert (cut.masked_select(changed[:, None].expand_as(cut)) == 0).all()
    side = 2 * (16 // 4) - 1  # |row - centre| < H/4: 7 rows at most
    for mask in changed:
        rows, cols = torch.nonzero(mask, as_tuple=True)
        assert len(rows) > 0
        assert rows.max() - rows.min() < side and cols.max() - cols.min() < side


def test_confident_targets_single_and_multi_label():
    logits = torch.log(torch.tensor([[0.96, 0.02, 0.02], [0.5, 0.3, 0.2]]))
    mask, targets = confident_targets(logits, False, 0.95)
    assert mask.tolist() == [True, False]
    assert targets.tolist() == [[1, 0, 0], [1, 0, 0]]
    p = torch.tensor([[0.99, 0.01, 0.97], [0.99, 0.5, 0.01]])
    mask, targets = confident_targets(torch.logit(p), True, 0.95)
    assert mask.tolist() == [True, False]  # the second row's middle concept is undecided
    assert targets[0].tolist() == [1, 0, 1]


def net():
    torch.manual_seed(0)
    return HashingNet("small-cnn", [8, 16], 3, backbone_kwargs={"width": 4}).train()


def test_term_matches_a_hand_computation():
    m, weak, strong = net(), images(seed=1), images(seed=2)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    torch.manual_seed(5)  # the same dropout draws below
    term = consistency_term(m, weak, strong, False, threshold=1e-9)  # every image confident
    m.load_state_dict(before)  # the strong view's forward moved the batch-norm statistics
    with torch.no_grad():
        m.eval()
        target = m(weak)
        m.train()
    torch.manual_seed(5)
    out = m(strong)
    cls = F.cross_entropy(out.class_logits, target.class_logits.argmax(dim=1))
    hashing = torch.stack([F.binary_cross_entropy(out.hash[b].clamp(1e-6, 1 - 1e-6),
                                                  (target.hash[b] > 0.5).float())
                           for b in (8, 16)]).mean()
    assert term.confident == 1.0
    assert term.loss.item() == pytest.approx((cls + hashing).item(), rel=1e-5)
    assert m.training  # left as it was


def test_nothing_confident_gives_zero_and_no_gradient():
    m = net()
    term = consistency_term(m, images(), images(seed=3), False, threshold=1.0 + 1e-9)
    assert term.confident == 0.0 and term.loss.item() == 0.0 and not term.loss.requires_grad


def test_stage2_with_consistency_trains_and_needs_the_pool(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    y = np.eye(4, dtype=np.uint8)[np.arange(40) % 4]
    cfg = HashingConfig(epochs=2, batch_size=8, backbone_kwargs={"width": 4},
                        use_synthetic=False, use_adversary_stream=False,
                        consistency_weight=1.0, consistency_batch_size=5,
                        consistency_threshold=0.3)
    with pytest.raises(ValueError, match="needs unlabelled images"):
        train_hashing(cfg, [8], HashingData(x[:24], y[:24], x[24:32], y[24:32]), None, CPU,
                      tmp_path / "a.pt", progress=False)
    with_pool = HashingData(x[:24], y[:24], x[24:32], y[24:32], unlabelled=x[32:])
    _, history = train_hashing(cfg, [8], with_pool, None, CPU, tmp_path / "b.pt",
                               progress=False)
    assert len(history["consistency"]) == len(history["loss"]) == 2 * 3
    assert all(0.0 <= c <= 1.0 for c in history["confident"])
    assert all(np.isfinite(history["consistency"]))
