import torch

from dshgan.nets.class_projection import ClassProjection
from dshgan.nets.discriminator import Discriminator
from dshgan.nets.projected_discriminator import ProjectedDiscriminator
from dshgan.nets.twin_classifier import TwinClassifier


def test_the_twin_reads_the_class_heads_features_and_changes_nothing_else():
    torch.manual_seed(0)
    d = TwinClassifier(Discriminator(5, 16, 8), 5).eval()  # spectral norm: no power step per call
    images = torch.rand(3, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        out, plain = d(images), d.net(images)
        torch.testing.assert_close(out.twin_logits, plain.features[-1] @ d.twin_head.weight.T
                                   + d.twin_head.bias)
        torch.testing.assert_close(out.real_logit, plain.real_logit)
        torch.testing.assert_close(out.class_logits, plain.class_logits)
    assert plain.twin_logits is None


def test_on_the_projected_d_under_a_class_projection():
    torch.manual_seed(0)
    d = ClassProjection(TwinClassifier(ProjectedDiscriminator(5, 16, 8, feature_size=32,
                                                              pretrained=False), 5), 5)
    out = d(torch.rand(2, 3, 16, 16) * 2 - 1, torch.eye(5)[[1, 4]])
    assert out.twin_logits.shape == (2, 5) and out.real_logit.shape == (2, 4)
    assert d.net.twin_head.in_features == d.net.net.feature_dims[-1]
