import pytest
import torch

from dshgan.nets import HashingNet


def make(bits=(12, 48)):
    return HashingNet("small-cnn", list(bits), num_classes=3, hidden_dim=16,
                      backbone_kwargs={"width": 4})


def test_three_streams_shapes_and_ranges():
    out = make()(torch.randn(4, 3, 32, 32))
    assert out.real_logit.shape == (4,)
    assert out.class_logits.shape == (4, 3)
    assert set(out.hash) == {12, 48}
    assert out.hash[48].shape == (4, 48)
    assert out.hash[12].min() >= 0 and out.hash[12].max() <= 1


def test_each_stream_backpropagates_into_the_shared_trunk():
    net = make()
    x = torch.randn(4, 3, 32, 32)
    for pick in (lambda o: o.real_logit, lambda o: o.hash[12], lambda o: o.class_logits):
        net.zero_grad()
        pick(net(x)).sum().backward()
        assert net.backbone.body[0][0].weight.grad.abs().sum() > 0


def test_encode_thresholds_at_one_half():
    net = make().eval()
    x = torch.randn(3, 3, 32, 32)
    expected = (net(x).hash[48] > 0.5).to(torch.uint8)
    assert torch.equal(net.encode(x, 48), expected)
    with pytest.raises(ValueError, match="no 24-bit head"):
        net.encode(x, 24)


def test_resizes_to_the_backbone_resolution():
    net = make().eval()
    assert net(torch.randn(2, 3, 16, 16)).hash[12].shape == (2, 12)


def test_bad_bits():
    with pytest.raises(ValueError):
        HashingNet("small-cnn", [], 3)


def test_forward_from_the_cached_prefix_is_forward():
    torch.manual_seed(0)
    net = HashingNet("efficientnet-lite0", [12], num_classes=3, hidden_dim=16,
                     backbone_kwargs={"pretrained": False, "input_size": 32,
                                      "trainable_blocks": 8}).eval()
    x = torch.randn(2, 3, 16, 16)  # resized to 32 px on both paths
    whole, split = net(x), net.forward_from_prefix(net.prefix(x))
    assert torch.equal(whole.hash[12], split.hash[12])
    assert torch.equal(whole.class_logits, split.class_logits)
    with pytest.raises(ValueError, match="no frozen part"):
        make().prefix(x)


def _saved_bytes(fn):
    """Bytes autograd keeps for the backward pass while ``fn`` runs (saved-tensor hooks)."""
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(saved)


def test_real_and_synthetic_forward_matches_the_concatenated_batch_in_less_memory():
    torch.manual_seed(0)
    net = HashingNet("efficientnet-lite0", [12], num_classes=3, hidden_dim=16,
                     backbone_kwargs={"pretrained": False, "input_size": 64,
                                      "trainable_blocks": 2}).train()
    net.shared[2].p = 0.0  # no dropout: both paths must see the same function
    real = torch.randn(4, 3, 64, 64)
    source = torch.randn(8, 3, 64, 64, requires_grad=True)  # stands for the generator's output
    synthetic = source * 1.0

    torch.manual_seed(1)  # the trainable blocks' drop-connect draws the same on both paths
    whole, whole_bytes = _saved_bytes(lambda: net(torch.cat([real, synthetic])))
    (g_whole,) = torch.autograd.grad(whole.hash[12].sum() + whole.real_logit.sum(), source)
    torch.manual_seed(1)
    split, split_bytes = _saved_bytes(lambda: net.forward_real_and_synthetic(real, source * 1.0))
    (g_split,) = torch.autograd.grad(split.hash[12].sum() + split.real_logit.sum(), source)

    torch.testing.assert_close(split.hash[12], whole.hash[12], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(split.class_logits, whole.class_logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(g_split, g_whole, rtol=1e-3, atol=1e-6)
    assert split_bytes < 0.6 * whole_bytes  # the frozen part's activations are not kept


def test_real_and_synthetic_forward_without_a_frozen_part_is_forward_of_the_batch():
    torch.manual_seed(0)
    net = make().eval()
    real, synthetic = torch.randn(2, 3, 32, 32), torch.randn(3, 3, 32, 32)
    assert torch.equal(net.forward_real_and_synthetic(real, synthetic).hash[48],
                       net(torch.cat([real, synthetic])).hash[48])
