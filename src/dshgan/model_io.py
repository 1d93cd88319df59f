"""Loading a trained run's model.pt back: the hashing net(s) and the stage-1 generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dshgan.config import load_config
from dshgan.nets import ConditionalGenerator, HashingNet
from dshgan.train.loop import load_checkpoint


@dataclass
class TrainedModel:
    nets: list[HashingNet]
    generator: ConditionalGenerator | None
    class_names: list[str]
    multi_label: bool
    image_size: tuple[int, int]

    @property
    def bits(self) -> list[int]:
        return sorted(b for n in self.nets for b in n.bits)

    def net_for(self, bits: int) -> HashingNet:
        for net in self.nets:
            if bits in net.bits:
                return net
        raise ValueError(f"this run has no {bits}-bit codes; it has {self.bits}")


def load_trained_model(run_dir: str | Path, device: torch.device) -> TrainedModel:
    path = Path(run_dir) / "model.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a finished dshgan run?")
    state = load_checkpoint(path, device)
    config = load_config(overrides=state["config"])
    h = config.hashing
    num_classes = len(state["class_names"])
    kwargs = dict(h.backbone_kwargs)
    if h.backbone == "efficientnet-lite0":
        kwargs["pretrained"] = False  # the fine-tuned weights come from model.pt
    nets = []
    for entry in state["nets"]:
        net = HashingNet(h.backbone, entry["bits"], num_classes, backbone_kwargs=kwargs)
        net.load_state_dict(entry["state"])
        nets.append(net.to(device).eval())
    generator = None
    if state["generator"] is not None:
        size = state["image_size"][0]
        generator = ConditionalGenerator(num_classes, config.gan.noise_dim, size, config.gan.width)
        generator.load_state_dict(state["generator"])
        generator.to(device).eval()
    return TrainedModel(nets, generator, state["class_names"], state["multi_label"],
                        tuple(state["image_size"]))
