"""Trunk features: uint8 images to [-1, 1], bilinear resize as the nets do, then the trunk."""

import numpy as np
import torch
import torch.nn.functional as F

from dshgan.metrics.generative.features import TrunkFeatures
from dshgan.nets import create_backbone


def test_features_are_the_trunks_on_resized_images_in_any_batch_size():
    torch.manual_seed(0)
    trunk = create_backbone("small-cnn", width=4, input_size=24)
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    got = TrunkFeatures(trunk, batch_size=2)(images)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    x = F.interpolate(x, size=(24, 24), mode="bilinear", align_corners=False)
    with torch.no_grad():
        want = trunk.eval().forward_features(x).double().numpy()
    assert got.shape == (5, 16) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert "24 px" in TrunkFeatures(trunk).description
    assert TrunkFeatures(trunk)(images[:0]).shape == (0, 16)
