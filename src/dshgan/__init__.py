"""dshgan: Deep Semantic Hashing with Generative Adversarial Networks (Qiu, Pan, Yao, Mei,
SIGIR 2017): compact binary codes for image retrieval from a few labelled and many unlabelled
images, with an exact Hamming index, honest metrics and the paper's protocols.

The names below are the public API; heavy submodules load on first use so that
``import dshgan`` stays fast for users who only want the index or the metrics.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "HashingNet": "dshgan.nets",
    "ConditionalGenerator": "dshgan.nets",
    "Discriminator": "dshgan.nets",
    "create_backbone": "dshgan.nets",
    "list_backbones": "dshgan.nets",
    "HammingIndex": "dshgan.index",
    "create_baseline": "dshgan.baselines",
    "list_baselines": "dshgan.baselines",
    "load_dataset": "dshgan.data",
    "load_sample": "dshgan.data",
    "make_split": "dshgan.data",
    "get_protocol": "dshgan.data",
    "list_protocols": "dshgan.data",
    "ImageDataset": "dshgan.data",
    "evaluate": "dshgan.metrics",
    "mean_average_precision": "dshgan.metrics",
    "load_config": "dshgan.config",
    "RunConfig": "dshgan.config",
    "run_experiment": "dshgan.experiment",
    "load_trained_model": "dshgan.model_io",
    "reproduce": "dshgan.reproduce",
}

__all__ = [
    "ConditionalGenerator",
    "Discriminator",
    "HammingIndex",
    "HashingNet",
    "ImageDataset",
    "RunConfig",
    "__version__",
    "create_backbone",
    "create_baseline",
    "evaluate",
    "get_protocol",
    "list_backbones",
    "list_baselines",
    "list_protocols",
    "load_config",
    "load_dataset",
    "load_sample",
    "load_trained_model",
    "make_split",
    "mean_average_precision",
    "reproduce",
    "run_experiment",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dshgan' has no attribute {name!r}")
