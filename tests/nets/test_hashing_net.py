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
