import numpy as np
import pytest
import torch

from dshgan.config import HashingConfig
from dshgan.image_tensors import to_tensor_images
from dshgan.nets import HashingNet
from dshgan.train import encoding
from dshgan.train.encoding import FrozenPartOutputs, encode_images, encode_prefixes
from dshgan.train.prefix_cache import CachedViews

CPU = torch.device("cpu")


def images(n=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)


def lite_cfg(input_size=32):
    return HashingConfig(backbone="efficientnet-lite0", backbone_kwargs={
        "pretrained": False, "input_size": input_size, "trainable_blocks": 8})


def distinct(codes) -> int:
    return len({row.tobytes() for row in codes})


def test_flip_average_thresholds_the_mean_of_an_image_and_its_mirror():
    x8 = images()
    torch.manual_seed(0)
    net = HashingNet("small-cnn", [8, 16], 4, backbone_kwargs={"width": 4}).eval()
    got = encode_images(net, x8, CPU, batch_size=7, flip_average=True)
    with torch.no_grad():
        x = to_tensor_images(x8, CPU)
        plain, mirrored = net(x).hash, net(x.flip(3)).hash
    for b in (8, 16):
        want = ((plain[b] + mirrored[b]) / 2 > 0.5).to(torch.uint8).numpy()
        np.testing.assert_array_equal(got[b], want)
    # so the codes are the same for an image and its mirror image
    again = encode_images(net, x8[:, :, ::-1].copy(), CPU, flip_average=True)
    np.testing.assert_array_equal(again[16], got[16])
    assert not torch.allclose(plain[16], mirrored[16])  # the net does see the mirror differently


def test_encode_prefixes_gives_the_codes_of_encode_images(lively_lite_net):
    x = images()
    torch.manual_seed(0)
    net = lively_lite_net(lite_cfg(), [8, 16], 4).train()
    assert net.has_frozen_part
    prefixes = CachedViews.build(net, x, 1, lambda v, _: v, torch.Generator(), CPU,
                                 batch_size=5).maps[0]
    got = encode_prefixes(net, prefixes, batch_size=5)
    want = encode_images(net, x, CPU, batch_size=5)
    for b in (8, 16):
        np.testing.assert_array_equal(got[b], want[b])
    assert distinct(want[16]) > 4  # codes differ, so the check can fail
    assert net.training  # the mode is given back
    assert not HashingNet("small-cnn", [8], 4, backbone_kwargs={"width": 4}).has_frozen_part


def count_builds(monkeypatch) -> list:
    built = []
    real = CachedViews.build.__func__

    def counting(cls, *args, **kwargs):
        built.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(CachedViews, "build", classmethod(counting))
    return built


def test_nets_sharing_a_frozen_part_reuse_its_outputs_and_get_their_own_codes(
        monkeypatch, lively_lite_net):
    x = images()
    torch.manual_seed(0)
    first = lively_lite_net(lite_cfg(), [8, 16], 4)
    second = lively_lite_net(lite_cfg(), [8, 16], 4)  # other weights everywhere...
    second.backbone.load_state_dict(first.backbone.state_dict())  # ...but the same trunk
    for head in second.hash_heads.values():
        torch.nn.init.normal_(head.weight, std=3.0)
    built = count_builds(monkeypatch)
    shared = FrozenPartOutputs(x)
    for net in (first, second, first):
        got = shared.codes(net, CPU)
        for b in (8, 16):
            np.testing.assert_array_equal(got[b], encode_images(net, x, CPU)[b])
    assert len(built) == 1
    assert not np.array_equal(encode_images(first, x, CPU)[16], encode_images(second, x, CPU)[16])


def test_a_net_with_another_frozen_part_is_encoded_from_its_own_images(
        monkeypatch, lively_lite_net):
    x = images()
    torch.manual_seed(0)
    first = lively_lite_net(lite_cfg(), [16], 4)
    other = lively_lite_net(lite_cfg(), [16], 4)
    other.load_state_dict(first.state_dict())
    with torch.no_grad():  # one frozen weight moves by one rounding step
        w = other.backbone.net._conv_stem.weight
        w[0, 0, 0, 0] = torch.nextafter(w[0, 0, 0, 0], torch.tensor(1.0))
    wider = lively_lite_net(lite_cfg(input_size=48), [16], 4)
    wider.load_state_dict(first.state_dict())
    shared = FrozenPartOutputs(x)
    shared.codes(first, CPU)
    plain = []
    real = encoding.encode_images
    monkeypatch.setattr(encoding, "encode_images", lambda *a, **k: plain.append(1) or real(*a, **k))
    for net in (other, wider):
        np.testing.assert_array_equal(shared.codes(net, CPU)[16], real(net, x, CPU)[16])
    assert len(plain) == 2
    assert distinct(real(wider, x, CPU)[16]) > 4


def test_outputs_over_the_memory_cap_or_without_a_frozen_part_are_not_kept(lively_lite_net):
    x = images()
    torch.manual_seed(0)
    net = lively_lite_net(lite_cfg(), [8], 4)
    capped = FrozenPartOutputs(x, max_bytes=1000)
    np.testing.assert_array_equal(capped.codes(net, CPU)[8], encode_images(net, x, CPU)[8])
    assert capped.outputs is None
    small = HashingNet("small-cnn", [8], 4, backbone_kwargs={"width": 4})
    plain = FrozenPartOutputs(x)
    np.testing.assert_array_equal(plain.codes(small, CPU)[8], encode_images(small, x, CPU)[8])
    assert plain.outputs is None
    assert FrozenPartOutputs(x[:0]).codes(net, CPU)[8].shape == (0, 8)


@pytest.mark.parametrize("n", [1, 257])
def test_batches_split_the_same_way_so_codes_match_at_batch_edges(lively_lite_net, n):
    x = images(n, seed=1)
    torch.manual_seed(0)
    net = lively_lite_net(lite_cfg(), [16], 4)
    np.testing.assert_array_equal(FrozenPartOutputs(x).codes(net, CPU)[16],
                                  encode_images(net, x, CPU)[16])


@pytest.mark.parametrize("input_size, want", [(16, 256), (32, 256), (64, 64), (128, 16),
                                              (224, 5), (4096, 1)])
def test_inference_batches_hold_at_most_a_fixed_number_of_pixels(input_size, want):
    net = HashingNet("small-cnn", [12], num_classes=2, backbone_kwargs={
        "width": 4, "input_size": input_size})
    assert encoding.encoding_batch_size(net) == want


def test_default_batches_follow_the_input_size_and_change_no_code(monkeypatch):
    torch.manual_seed(0)
    net = HashingNet("small-cnn", [12, 24], num_classes=3, hidden_dim=8,
                     backbone_kwargs={"width": 4}).eval()
    x = images(n=23)
    sizes = []
    real = encoding.to_tensor_images
    monkeypatch.setattr(encoding, "to_tensor_images",
                        lambda batch, device: sizes.append(len(batch)) or real(batch, device))
    monkeypatch.setattr(encoding, "PIXELS_PER_BATCH", 10 * 32 * 32)  # 10 images per batch
    got = encode_images(net, x, CPU)
    assert sizes == [10, 10, 3]
    want = encode_images(net, x, CPU, batch_size=23)
    for b in (12, 24):
        np.testing.assert_array_equal(got[b], want[b])
