"""Networks: backbone registry, stage-1 generator and discriminator, the three-stream hashing net."""

from dshgan.nets.discriminator import Discriminator, DiscriminatorOutput
from dshgan.nets.generator import ConditionalGenerator
from dshgan.nets.hashing_net import HashingNet, HashingOutput
from dshgan.nets.registry import create_backbone, list_backbones, register_backbone

__all__ = [
    "ConditionalGenerator", "Discriminator", "DiscriminatorOutput", "HashingNet", "HashingOutput",
    "create_backbone", "list_backbones", "register_backbone",
]
