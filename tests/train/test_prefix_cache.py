import numpy as np
import pytest
import torch

from dshgan.image_tensors import to_tensor_images
from dshgan.nets import HashingNet
from dshgan.train.image_tensors import augment
from dshgan.train.prefix_cache import CachedViews

CPU = torch.device("cpu")


def lite_net():
    torch.manual_seed(0)
    return HashingNet("efficientnet-lite0", [8], num_classes=3, hidden_dim=16,
                      backbone_kwargs={"pretrained": False, "input_size": 32,
                                       "trainable_blocks": 8})


def test_each_view_is_the_frozen_part_of_one_augmentation():
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    net = lite_net()
    cache = CachedViews.build(net, images, 3, augment, torch.Generator().manual_seed(7), CPU,
                              batch_size=2)
    assert cache.views == 3 and cache.maps.shape == (3, 5, 80, 2, 2)
    # replay the generator: view by view, batch by batch
    replay = torch.Generator().manual_seed(7)
    for v in range(3):
        for start in range(0, 5, 2):
            x = augment(to_tensor_images(images[start:start + 2], CPU), replay)
            torch.testing.assert_close(cache.maps[v, start:start + 2], net.prefix(x),
                                       rtol=0, atol=0)
    assert not torch.equal(cache.maps[0], cache.maps[1])  # the views differ


def test_sample_draws_one_view_of_each_requested_image():
    views, n = 4, 6
    maps = (100 * torch.arange(views)[:, None] + torch.arange(n)[None]).float()
    cache = CachedViews(maps[:, :, None, None, None].expand(views, n, 1, 1, 1).clone())
    rows = torch.tensor([5, 0, 5, 2] * 50)
    got = cache.sample(rows, torch.Generator().manual_seed(0)).flatten()
    assert torch.equal(got % 100, rows.float())
    assert set((got // 100).long().tolist()) == set(range(views))


def test_bad_views_are_refused():
    with pytest.raises(ValueError, match="views must be >= 1"):
        CachedViews.build(lite_net(), np.zeros((2, 8, 8, 3), np.uint8), 0, augment,
                          torch.Generator(), CPU)
    with pytest.raises(ValueError, match="views, images"):
        CachedViews(torch.zeros(2, 3, 4))


def test_building_keeps_the_mode_and_the_frozen_statistics():
    net = lite_net().train()
    stats = net.backbone.net._bn0.running_mean.clone()
    CachedViews.build(net, np.zeros((4, 8, 8, 3), np.uint8), 2, augment, torch.Generator(), CPU)
    assert net.training and not net.backbone.net._bn0.training
    assert torch.equal(stats, net.backbone.net._bn0.running_mean)
