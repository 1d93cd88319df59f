"""Loading a trained run's model.pt back: the hashing net(s) and the stage-1 generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dshgan.config import load_config
from dshgan.nets import ConditionalGenerator, HashingNet
from dshgan.train.checkpoints import load_checkpoint
from dshgan.train.gan_state import build_generator
from dshgan.train.hashing_setup import build_hashing_net


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
        size = state.get("gan_image_size", state["image_size"][0])
        generator = build_generator(config.gan, num_classes, size)
        generator.load_state_dict(state["generator"])
        generator.to(device).eval()
    return TrainedModel(nets, generator, state["class_names"], state["multi_label"],
                        tuple(state["image_size"]))


CHECKPOINT_WEIGHTS = ("kept", "last", "last-average")


def load_reproduce_checkpoint(run_dir: str | Path, seed: int, num_classes: int,
                              checkpoint: str | None = None,
                              device: torch.device | None = None, weights: str = "kept",
                              ) -> tuple[HashingNet, dict]:
    """The hashing net of the epoch a `dshgan reproduce` unit kept, and the raw checkpoint
    (with the file it came from as ``state["path"]``).

    Why: reproduce keeps one checkpoint per trained unit under ``RUN_DIR/seedN/checkpoints``
    (self-training rounds aside); scripts that rescore a run on validation start from it.
    ``checkpoint`` names the file when the folder holds more than one. ``weights`` picks which:
    "kept" (the epoch validation chose: what the run evaluates), "last" (the raw weights after
    the last epoch) or "last-average" (the weight average after it, for runs that kept one).
    """
    if weights not in CHECKPOINT_WEIGHTS:
        raise ValueError(f"weights must be one of {CHECKPOINT_WEIGHTS}, got {weights!r}")
    run_dir = Path(run_dir)
    folder = run_dir / f"seed{seed}" / "checkpoints"
    found = sorted(p for p in folder.glob("*.pt") if ".round" not in p.name)
    if checkpoint is not None:
        path = folder / checkpoint
        if not path.exists():
            raise FileNotFoundError(f"{path} not found; {folder} holds {[p.name for p in found]}")
    elif len(found) == 1:
        path = found[0]
    else:
        raise ValueError(f"{folder} holds {[p.name for p in found]}: name one as checkpoint")
    state = load_checkpoint(path, device or torch.device("cpu"))
    state["path"] = str(path)
    config = load_config(run_dir / "config.yaml")
    net = build_hashing_net(config.hashing, list(state["bits"]), num_classes)
    if weights == "last-average":
        if state.get("weight_average") is None:
            raise ValueError(f"{path} kept no weight average (weight_average_decay was 0)")
        chosen = state["weight_average"]["shadow"]
    elif weights == "last":
        chosen = state["net"]
    else:
        chosen = state["best_state"] or state["net"]
    net.load_state_dict(chosen)
    return net.eval(), state
