import numpy as np
import torch

from dshgan.image_tensors import to_tensor_images, to_uint8_images


def test_images_go_to_minus_one_one_and_back_unchanged():
    images = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)
    x = to_tensor_images(images, torch.device("cpu"))
    assert x.shape == (3, 3, 5, 7) and x.min() >= -1 and x.max() <= 1
    assert np.array_equal(to_uint8_images(x), images)


def test_values_outside_the_range_are_clipped():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 2.5]).reshape(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert to_uint8_images(x)[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]
