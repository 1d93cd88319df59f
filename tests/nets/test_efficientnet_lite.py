import torch

from dshgan.nets.efficientnet_lite import EfficientNetLite0


def _pair(trainable_blocks=None):
    torch.manual_seed(0)
    nhwc = EfficientNetLite0(pretrained=False, input_size=32, trainable_blocks=trainable_blocks)
    nchw = EfficientNetLite0(
        pretrained=False, input_size=32, trainable_blocks=trainable_blocks, channels_last=False
    )
    nchw.load_state_dict(nhwc.state_dict())
    return nhwc, nchw


def _assert_close_to_scale(a, b, tolerance=1e-5):
    """Rounding differs between layouts; the gap must be tiny against the values' scale."""
    assert (a - b).abs().max() <= tolerance * b.abs().max()


def test_channels_last_is_the_default_layout_of_the_conv_weights():
    nhwc, nchw = _pair()
    w = nhwc.net._conv_stem.weight
    assert w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
    assert nchw.net._conv_stem.weight.is_contiguous()


def test_channels_last_computes_what_nchw_computes_forward_and_backward():
    # In float64 the two layouts must agree to rounding; float32's rounding, amplified by
    # batch norm over 4 images, would hide a real difference in the gradients.
    nhwc, nchw = (net.double() for net in _pair(trainable_blocks=3))
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    _assert_close_to_scale(nhwc.eval()(x), nchw.eval()(x), tolerance=1e-10)
    for net in (nhwc, nchw):
        torch.manual_seed(1)  # the same drop-connect masks in both
        net.train()
        net(x).pow(2).sum().backward()
    head_nhwc, head_nchw = nhwc.net._conv_head.weight, nchw.net._conv_head.weight
    _assert_close_to_scale(head_nhwc.grad, head_nchw.grad, tolerance=1e-10)
    assert nhwc.net._conv_stem.weight.grad is None  # frozen in both layouts


def test_float32_features_agree_between_layouts():
    nhwc, nchw = _pair()
    x = torch.randn(4, 3, 32, 32)
    _assert_close_to_scale(nhwc.eval()(x), nchw.eval()(x))


def test_a_state_dict_moves_between_layouts_and_keeps_the_target_layout():
    _, nchw = _pair()
    fresh = EfficientNetLite0(pretrained=False, input_size=32)
    fresh.load_state_dict(nchw.state_dict())
    w = fresh.net._conv_head.weight
    assert w.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(w, nchw.net._conv_head.weight)
