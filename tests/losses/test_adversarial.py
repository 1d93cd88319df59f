import math

import pytest
import torch

from dshgan.losses.adversarial import (
    discriminator_hinge_loss,
    discriminator_loss,
    generator_hinge_loss,
    generator_loss,
)


def bce(logit, target):
    p = 1 / (1 + math.exp(-logit))
    return -(target * math.log(p) + (1 - target) * math.log(1 - p))


def test_discriminator_loss_is_mean_bce_over_all_images():
    real, fake = torch.tensor([0.3, -1.2]), torch.tensor([2.0, 0.1, -0.5])
    expected = (sum(bce(x, 1) for x in real.tolist()) + sum(bce(x, 0) for x in fake.tolist())) / 5
    assert math.isclose(discriminator_loss(real, fake).item(), expected, rel_tol=1e-6)


def test_generator_losses():
    fake = torch.tensor([2.0, -3.0])
    ns = sum(bce(x, 1) for x in fake.tolist()) / 2
    mm = -sum(bce(x, 0) for x in fake.tolist()) / 2
    assert math.isclose(generator_loss(fake).item(), ns, rel_tol=1e-6)
    assert math.isclose(generator_loss(fake, "minimax").item(), mm, rel_tol=1e-6)
    with pytest.raises(ValueError, match="unknown generator loss"):
        generator_loss(fake, "wasserstein")


def test_non_saturating_keeps_a_gradient_when_the_discriminator_wins():
    confident = torch.tensor([-12.0], requires_grad=True)  # D is sure the image is synthetic
    generator_loss(confident).backward()
    ns_grad = confident.grad.abs().item()
    confident.grad = None
    generator_loss(confident, "minimax").backward()
    assert ns_grad > 0.9 and confident.grad.abs().item() < 1e-4


def test_hinge_losses_against_their_formulas():
    real = torch.tensor([2.0, 0.5, -1.0])
    fake = torch.tensor([-3.0, 0.0])
    # real: relu(1 - [2, .5, -1]) = [0, .5, 2] -> mean 5/6; fake: relu(1 + [-3, 0]) = [0, 1] -> 1/2
    assert math.isclose(discriminator_hinge_loss(real, fake).item(), 5 / 6 + 1 / 2, rel_tol=1e-6)
    assert math.isclose(generator_hinge_loss(fake).item(), 1.5, rel_tol=1e-6)
    # a discriminator past the margins on every image has nothing left to learn
    assert discriminator_hinge_loss(torch.full((4,), 1.5), torch.full((4,), -2.0)).item() == 0
