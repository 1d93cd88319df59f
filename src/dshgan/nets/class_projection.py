"""A discriminator whose real/synthetic logits are conditioned on the labels by a projection
(Miyato and Koyama, "cGANs with projection discriminator", ICLR 2018), an opt-in stage-1 option
(``gan.class_projection: true``).

Why: an auxiliary classifier (the paper's D) rewards G for images that are easy to classify,
which pulls the images of one class together; a projection asks instead whether the image is a
real image *of that label*: logit(x, y) = psi(h(x)) + <V y, h(x)>, with V one spectrally
normalised embedding per logit column. The class head stays (the semi-supervised D and the
hashing net's classification stream need it).

Unlabelled real images have no label, yet D's logit must be conditional for every real image, or
"real" could be told by whether a label came along; they are conditioned on D's own class
probabilities, detached, as pseudo-labels are in semi-supervised learning.
"""

from __future__ import annotations

import torch
import torch.nn.utils.parametrizations as param
from torch import nn

from dshgan.nets.discriminator import DiscriminatorOutput


class ClassProjection(nn.Module):
    """Wraps a discriminator with ``feature_dims`` (one per logit column) and whose output
    carries the matching ``features``; the wrapped net's own weights sit under ``net``."""

    def __init__(self, net: nn.Module, num_classes: int):
        super().__init__()
        self.net = net
        self.embeddings = nn.ModuleList(
            param.spectral_norm(nn.Linear(num_classes, d, bias=False)) for d in net.feature_dims)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                multi_label: bool = False) -> DiscriminatorOutput:
        """``labels``: label vectors of the first ``len(labels)`` images (None: of none); the
        others are conditioned on D's own detached class probabilities (a sigmoid per label when
        ``multi_label``, else a softmax)."""
        out = self.net(images)
        known = 0 if labels is None else len(labels)
        guessed = out.class_logits[known:].detach()
        guessed = guessed.sigmoid() if multi_label else guessed.softmax(1)
        y = guessed if labels is None else torch.cat([labels.to(guessed.dtype), guessed])
        terms = torch.stack([(embed(y) * h).sum(1)
                             for embed, h in zip(self.embeddings, out.features, strict=True)], 1)
        return out._replace(real_logit=out.real_logit + terms.reshape(out.real_logit.shape))
