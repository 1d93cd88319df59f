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


def test_prefix_then_suffix_is_the_whole_trunk():
    torch.manual_seed(0)
    net = EfficientNetLite0(pretrained=False, input_size=32, trainable_blocks=5)
    x = torch.randn(4, 3, 32, 32)
    for mode in (False, True):  # eval, and train with the same drop-connect masks
        net.train(mode)
        torch.manual_seed(1)
        whole = net(x)
        torch.manual_seed(1)
        split = net.forward_suffix(net.forward_prefix(x))
        assert torch.equal(whole, split)
    # 16 - 5 = 11 frozen blocks end with stage 5: 112 channels at stride 16
    assert net.forward_prefix(x).shape == (4, 112, 2, 2)


def test_the_prefix_is_fixed_while_training():
    # Frozen blocks keep ImageNet's batch-norm statistics, so a cached prefix stays valid.
    torch.manual_seed(0)
    net = EfficientNetLite0(pretrained=False, input_size=32, trainable_blocks=8).train()
    x = torch.randn(4, 3, 32, 32)
    before = net.forward_prefix(x)
    net(torch.randn(8, 3, 32, 32))  # a training-mode forward updates only trainable BN stats
    assert torch.equal(before, net.forward_prefix(x))
    assert not before.requires_grad


def test_prefix_needs_frozen_blocks():
    import pytest

    with pytest.raises(ValueError, match="trainable_blocks"):
        EfficientNetLite0(pretrained=False, input_size=32).forward_prefix(torch.randn(1, 3, 32, 32))


def test_frozen_layers_start_in_eval_mode():
    net = EfficientNetLite0(pretrained=False, input_size=32, trainable_blocks=8)
    assert not net.net._bn0.training and not net.net._blocks[7].training
    assert net.net._blocks[8].training and net.training
