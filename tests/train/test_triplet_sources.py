import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dshgan.config import HashingConfig
from dshgan.nets import ConditionalGenerator
from dshgan.train.hashing_data import HashingData
from dshgan.train.triplet_sources import (
    LabelledImages,
    RealTriplets,
    SyntheticTriplets,
    triplet_source,
)

CPU = torch.device("cpu")


class Recorder:
    """Stands in for the hashing net: keeps the batch it was given."""

    def __call__(self, x):
        self.seen = x
        return "outputs"

    def forward_real_and_synthetic(self, real, synthetic):
        return self(torch.cat([real, synthetic]))


def generator(size):
    torch.manual_seed(0)
    return ConditionalGenerator(4, noise_dim=8, image_size=size, width=8).eval()


def labelled(size, n=8):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return images, torch.eye(4)[torch.arange(n) % 4]


def synthetic_batch(real_size, generator_size):
    images, labels = labelled(real_size)
    g, net = generator(generator_size), Recorder()
    source = SyntheticTriplets(g, LabelledImages(images, None, torch.Generator(), CPU), labels,
                               torch.Generator().manual_seed(1), CPU)
    t = source(net, torch.arange(4))
    # the same draws again, to see what the generator made
    rng = torch.Generator().manual_seed(1)
    from dshgan.train.triplets import sample_disjoint_labels

    y_neg = sample_disjoint_labels(t.y, labels, rng)
    z = torch.randn(8, g.noise_dim, generator=rng)
    with torch.no_grad():
        made = g(z, torch.cat([t.y, y_neg]))
    return net.seen, made, t


def test_synthetic_images_smaller_than_real_ones_are_resized_bilinearly():
    seen, made, t = synthetic_batch(real_size=32, generator_size=16)
    assert seen.shape == (12, 3, 32, 32) and t.synthetic and t.n == 4
    want = F.interpolate(made, size=(32, 32), mode="bilinear", align_corners=False)
    assert torch.allclose(seen[4:], want, atol=1e-6)


def test_synthetic_images_of_the_real_size_pass_unchanged():
    seen, made, _ = synthetic_batch(real_size=16, generator_size=16)
    assert torch.equal(seen[4:], made)


def test_real_triplets_pair_each_anchor_with_a_sharer_and_a_stranger():
    images, labels = labelled(16, n=12)
    rows = {img.tobytes(): i for i, img in enumerate(images)}
    net = Recorder()
    t = RealTriplets(LabelledImages(images, None, torch.Generator(), CPU), labels,
                     torch.Generator().manual_seed(0), CPU)(net, torch.arange(6))
    back = ((net.seen.permute(0, 2, 3, 1) + 1) * 127.5).round().byte().numpy()
    found = [rows[b.tobytes()] for b in back]
    anchors, pos, neg = found[:6], found[6:12], found[12:]
    assert anchors == list(range(6)) and not t.synthetic
    for a, p, n in zip(anchors, pos, neg):
        assert p != a and (labels[p] @ labels[a]) > 0 and (labels[n] @ labels[a]) == 0
    assert torch.equal(t.y_neg, labels[neg])


def test_anchors_without_a_negative_sit_out_and_a_batch_of_them_is_skipped():
    images, _ = labelled(16, n=4)
    everything = torch.ones(4, 4)  # every image holds every label: no negative anywhere
    source = RealTriplets(LabelledImages(images, None, torch.Generator(), CPU), everything,
                          torch.Generator(), CPU)
    assert source(Recorder(), torch.arange(4)) is None


@pytest.mark.parametrize("switches, kind", [
    ({}, "SyntheticTriplets"), ({"use_synthetic": False}, "RealTriplets"),
])
def test_the_config_picks_the_source(switches, kind):
    images, labels = labelled(16)
    data = HashingData(images, labels.numpy().astype(np.uint8), images, labels.numpy())
    source = triplet_source(HashingConfig(**switches), data, None, generator(16),
                            torch.Generator(), CPU, seed=0)
    assert type(source).__name__ == kind
