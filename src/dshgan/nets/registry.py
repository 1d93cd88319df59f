"""Backbone registry: users pick a trunk by name (``create_backbone("efficientnet-lite0")``).

Every backbone maps images in [-1, 1] of shape (n, 3, H, W) to features (n, feature_dim) through
``forward_features`` and declares the resolution it wants (``input_size``); the hashing net resizes
for it, so the data and the generator can stay at their native size.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_BACKBONES: dict[str, Callable[..., nn.Module]] = {}


def register_backbone(name: str) -> Callable:
    """Class decorator adding a backbone factory under ``name``."""

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _BACKBONES:
            raise ValueError(f"backbone {name!r} is registered twice")
        _BACKBONES[name] = factory
        return factory

    return wrap


def list_backbones() -> list[str]:
    """Names accepted by :func:`create_backbone`."""
    _import_builtin_backbones()
    return sorted(_BACKBONES)


def create_backbone(name: str, **kwargs) -> nn.Module:
    """Build the backbone registered as ``name`` (kwargs go to its constructor)."""
    _import_builtin_backbones()
    if name not in _BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(sorted(_BACKBONES))}")
    return _BACKBONES[name](**kwargs)


def _import_builtin_backbones() -> None:
    # Imported lazily so that registering never forms an import cycle.
    from dshgan.nets import efficientnet_lite, small_cnn  # noqa: F401
