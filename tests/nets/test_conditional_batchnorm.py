import torch

from dshgan.nets.conditional_batchnorm import ConditionalBatchNorm2d


def test_gain_and_bias_are_linear_in_the_multi_hot_labels():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(channels=5, num_classes=3)
    x = torch.randn(4, 5, 6, 6)
    y = torch.tensor([[1.0, 0, 0], [0, 1, 0], [1, 0, 1], [1, 1, 1]])
    out = cbn(x, y)
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    normalised = (x - mean) / torch.sqrt(var + cbn.norm.eps)
    for i in range(4):
        present = y[i].nonzero().flatten()
        gain = 1 + cbn.gain.weight[:, present].sum(1)  # (1 + W_g y): the labels' columns add
        bias = cbn.bias.weight[:, present].sum(1)
        expected = normalised[i] * gain[:, None, None] + bias[:, None, None]
        torch.testing.assert_close(out[i], expected, rtol=1e-5, atol=1e-5)
    assert not cbn.norm.affine  # the only gain and bias are the label's


def test_eval_uses_the_running_statistics():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(2, 2)
    cbn(torch.randn(8, 2, 3, 3) * 3 + 1, torch.eye(2)[[0, 1] * 4])
    cbn.eval()
    x, y = torch.randn(1, 2, 3, 3), torch.eye(2)[:1]
    norm = (x - cbn.norm.running_mean[None, :, None, None]) / torch.sqrt(
        cbn.norm.running_var[None, :, None, None] + cbn.norm.eps)
    expected = (norm * (1 + cbn.gain.weight[:, 0])[None, :, None, None]
                + cbn.bias.weight[:, 0][None, :, None, None])
    torch.testing.assert_close(cbn(x, y), expected)
