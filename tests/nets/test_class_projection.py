import pytest
import torch

from dshgan.nets.class_projection import ClassProjection
from dshgan.nets.discriminator import Discriminator
from dshgan.nets.projected_discriminator import ProjectedDiscriminator
from dshgan.nets.sngan_discriminator import SNGANDiscriminator


def wrapped(net_cls=Discriminator, **kwargs) -> ClassProjection:
    torch.manual_seed(0)
    return ClassProjection(net_cls(5, 16, 8, **kwargs), 5).eval()


def naive_logit(d: ClassProjection, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """psi(h) + y^T V^T h per logit column, image by image, with the embeddings' normalised
    weights."""
    out = d.net(images)
    psi = out.real_logit.reshape(len(images), -1)
    return torch.stack([
        torch.stack([psi[j, i] + labels[j] @ embed.weight.T @ h[j] for i, (embed, h) in
                     enumerate(zip(d.embeddings, out.features, strict=True))])
        for j in range(len(images))]).reshape(out.real_logit.shape)


@pytest.mark.parametrize("net_cls,kwargs", [(Discriminator, {}), (SNGANDiscriminator, {}),
                                            (ProjectedDiscriminator,
                                             {"feature_size": 32, "pretrained": False})])
def test_the_logits_are_the_nets_plus_the_labels_projection(net_cls, kwargs):
    d = wrapped(net_cls, **kwargs)
    images = torch.rand(3, 3, 16, 16) * 2 - 1
    labels = torch.eye(5)[[0, 3, 3]]
    with torch.no_grad():
        got = d(images, labels)
        torch.testing.assert_close(got.real_logit, naive_logit(d, images, labels))
        torch.testing.assert_close(got.class_logits, d.net(images).class_logits)
    assert got.real_logit.shape == d.net(images).real_logit.shape


def test_another_label_gives_another_logit():
    d, images = wrapped(), torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert not torch.allclose(d(images, torch.eye(5)[[0, 0]]).real_logit,
                                  d(images, torch.eye(5)[[1, 1]]).real_logit)


@pytest.mark.parametrize("multi_label", [False, True])
def test_unlabelled_images_are_conditioned_on_ds_own_detached_belief(multi_label):
    d, images = wrapped(), torch.rand(4, 3, 16, 16) * 2 - 1
    labels = torch.eye(5)[[2]]  # the first image's; the other three are unlabelled
    with torch.no_grad():
        logits = d.net(images).class_logits
        belief = logits.sigmoid() if multi_label else logits.softmax(1)
        expected = naive_logit(d, images, torch.cat([labels, belief[1:]]))
    got = d(images, labels, multi_label)
    torch.testing.assert_close(got.real_logit.detach(), expected)
    got.real_logit.sum().backward()  # the belief is detached: no gradient reaches the class head
    assert all(p.grad is None or not p.grad.any() for p in d.net.class_head.parameters())
    assert d(images).real_logit.shape == (4,)  # no labels at all: every image on D's belief
