import torch
import torch.nn.functional as F

from dshgan.train.image_tensors import resize_to


def test_resize_is_bilinear_and_a_no_op_at_the_same_size():
    x = torch.rand(2, 3, 8, 8)
    assert resize_to(x, (8, 8)) is x
    up = resize_to(x, (16, 12))
    assert up.shape == (2, 3, 16, 12)
    assert torch.equal(up, F.interpolate(x, size=(16, 12), mode="bilinear",
                                         align_corners=False))
    # a constant image stays constant: bilinear weights sum to one
    assert torch.allclose(resize_to(torch.full((1, 3, 4, 4), 0.5), (9, 9)), torch.tensor(0.5))
