"""What the generator is asked for, and its images: seeded, uint8, mode restored."""

import numpy as np
import torch

from dshgan.metrics.generative.sampling import generate_images, labels_per_class
from dshgan.nets import ConditionalGenerator


def test_single_label_asks_per_class_one_hot_labels_class_by_class():
    asked = labels_per_class(np.eye(3, dtype=np.uint8), 4, False, np.random.default_rng(0))
    np.testing.assert_array_equal(asked, np.repeat(np.eye(3, dtype=np.uint8), 4, axis=0))


def test_multi_label_asks_combinations_that_occur_and_hold_the_concept():
    train = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0], [0, 1, 0, 0]], np.uint8)
    asked = labels_per_class(train, 5, True, np.random.default_rng(0))
    assert asked.shape == (15, 4)  # concept 3 never occurs: skipped
    rows = {tuple(r) for r in train}
    for k in range(3):
        block = asked[5 * k:5 * k + 5]
        assert block[:, k].all() and all(tuple(r) in rows for r in block)


def test_generated_images_are_seeded_uint8_and_the_mode_is_restored():
    torch.manual_seed(0)
    g = ConditionalGenerator(3, noise_dim=6, image_size=8, width=8).train()
    labels = np.repeat(np.eye(3, dtype=np.uint8), 3, axis=0)
    a = generate_images(g, labels, seed=5, device="cpu", batch_size=4)
    b = generate_images(g, labels, seed=5, device="cpu")
    c = generate_images(g, labels, seed=6, device="cpu")
    assert g.training and a.dtype == np.uint8 and a.shape == (9, 8, 8, 3)
    np.testing.assert_array_equal(a, b)  # batch size does not change the noise
    assert (a != c).any()
    g.eval()
    with torch.no_grad():
        z = torch.randn(9, 6, generator=torch.Generator().manual_seed(5))
        want = g(z, torch.from_numpy(labels).float())
    np.testing.assert_array_equal(
        a, want.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).numpy())
