"""Index registry: ``create_index("flat" | "mih" | "mih:M" | "faiss", bits=...)``."""

from __future__ import annotations

from collections.abc import Callable

from dshgan.index.flat import HammingIndex

_INDEXES: dict[str, Callable[..., HammingIndex]] = {}


def register_index(name: str) -> Callable:
    """Decorator: make a factory ``(bits, option, **kwargs) -> HammingIndex`` creatable by name."""

    def wrap(factory: Callable[..., HammingIndex]) -> Callable[..., HammingIndex]:
        if name in _INDEXES:
            raise ValueError(f"index {name!r} is already registered")
        _INDEXES[name] = factory
        return factory

    return wrap


@register_index("flat")
def _flat(bits: int, option: str | None) -> HammingIndex:
    if option is not None:
        raise ValueError(f"'flat' takes no option, got 'flat:{option}'")
    return HammingIndex(bits)


@register_index("mih")
def _mih(bits: int, option: str | None) -> HammingIndex:
    # Norouzi et al.: substrings of about log2(n) bits; ~20 bits suits a million codes
    substrings = max(1, round(bits / 20)) if option is None else _int_option("mih", option)
    return HammingIndex(bits, multi_index=substrings)


@register_index("faiss")
def _faiss(bits: int, option: str | None) -> HammingIndex:
    from dshgan.index.faiss_backend import FaissHammingIndex

    if option is not None:
        raise ValueError(f"'faiss' takes no option, got 'faiss:{option}'")
    return FaissHammingIndex(bits)


def _int_option(name: str, option: str) -> int:
    try:
        return int(option)
    except ValueError:
        raise ValueError(f"{name}:M needs an integer M (substrings), got {option!r}") from None


def create_index(name: str, bits: int, **kwargs) -> HammingIndex:
    """Create an empty index: "flat" (exact scan), "mih:M" (multi-index hashing with M
    substrings; "mih" picks about bits / 20) or "faiss" (faiss IndexBinaryFlat)."""
    base, _, option = name.partition(":")
    if base not in _INDEXES:
        raise ValueError(f"unknown index {name!r}; choose from {list_indexes()}")
    return _INDEXES[base](bits, option or None, **kwargs)


def list_indexes() -> list[str]:
    """Registered index names (``mih`` also takes ``:M``)."""
    return sorted(_INDEXES)
