import numpy as np
import pytest
import torch

from dshgan.train.diff_augment import cutout, diff_augment, parse_policy, translation


def images(n=4, size=8):
    return torch.arange(n * 3 * size * size, dtype=torch.float32).reshape(n, 3, size, size) + 1


def test_policies_parse_and_unknown_names_are_refused():
    assert parse_policy("") == ()
    assert parse_policy(" translation , cutout") == ("translation", "cutout")
    with pytest.raises(ValueError, match="zoom"):
        parse_policy("translation,zoom")


def test_an_empty_policy_is_the_same_tensor_and_draws_nothing():
    x, g = images(), torch.Generator().manual_seed(0)
    assert diff_augment(x, (), g) is x
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())


def test_translation_is_a_shift_with_zeros_coming_in():
    x = images(n=6)
    g = torch.Generator().manual_seed(3)
    shifts = torch.Generator().manual_seed(3)
    dy = torch.randint(-1, 2, (6,), generator=shifts)  # 1/8 of 8 px: shifts in [-1, 1]
    dx = torch.randint(-1, 2, (6,), generator=shifts)
    got = translation(x, g)
    for i in range(6):  # a naive loop: out[r, c] = x[r - dy, c - dx] where inside, else 0
        want = np.zeros((3, 8, 8), np.float32)
        for r in range(8):
            for c in range(8):
                rr, cc = r - int(dy[i]), c - int(dx[i])
                if 0 <= rr < 8 and 0 <= cc < 8:
                    want[:, r, c] = x[i, :, rr, cc].numpy()
        np.testing.assert_array_equal(got[i].numpy(), want)


def test_cutout_zeroes_one_square_of_half_the_size_at_most():
    x = images(n=16)
    out = cutout(x, torch.Generator().manual_seed(1))
    for i in range(16):
        zero = (out[i] == 0).all(0)  # every channel zeroed at these pixels
        assert 0 < int(zero.sum()) <= 16  # a 4x4 square, cut by the border or not
        rows, cols = torch.nonzero(zero, as_tuple=True)
        assert int(zero[rows.min():rows.max() + 1, cols.min():cols.max() + 1].sum()) == len(rows)
        assert torch.equal(out[i][:, ~zero], x[i][:, ~zero])


def test_every_policy_passes_gradients_back_to_the_images():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    out = diff_augment(x, parse_policy("color,translation,cutout"), torch.Generator().manual_seed(0))
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    assert out.shape == x.shape and grad.abs().sum() > 0


def test_the_same_generator_state_gives_the_same_augmentation():
    x, policy = torch.rand(4, 3, 16, 16), parse_policy("color,translation,cutout")
    a = diff_augment(x, policy, torch.Generator().manual_seed(5))
    b = diff_augment(x, policy, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
