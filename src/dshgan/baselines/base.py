"""One interface for the shallow hashing baselines, and the registry that names them.

Every baseline learns on float features (n, d), optionally with multi-hot labels, and encodes
features to {0,1} codes (n, bits) with bit = 1 where its real-valued projection is > 0. The
codes go straight into the index and the metrics, so a baseline row in a results table is
produced by exactly the same evaluation code as DSH-GAN.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar, TypeVar

import numpy as np

_BASELINES: dict[str, type[HashingBaseline]] = {}

T = TypeVar("T", bound="HashingBaseline")


class HashingBaseline(abc.ABC):
    """Base class: validates input once so each method only implements the maths.

    Subclasses implement ``_fit(x, y)`` (x float64 (n, d); y float64 multi-hot (n, c) or None)
    and ``_project(x)`` returning real values (n, bits) whose sign is the code.
    """

    supervised: ClassVar[bool] = False
    name: ClassVar[str] = ""

    def __init__(self, bits: int, seed: int = 0):
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
            raise ValueError(f"bits must be a positive integer, got {bits!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        self.bits = int(bits)
        self.seed = int(seed)
        self.n_features_: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bits={self.bits}, seed={self.seed})"

    @property
    def is_fitted(self) -> bool:
        return self.n_features_ is not None

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> HashingBaseline:
        """Learn the hash functions; ``labels`` are required by supervised methods only."""
        x = _as_features(features, "features")
        if x.shape[0] < 2:
            raise ValueError(f"{self._label()} needs at least 2 training samples, got {x.shape[0]}")
        y = None
        if self.supervised:
            if labels is None:
                raise ValueError(f"{self._label()} is supervised: fit() needs labels")
            y = _as_multi_hot(labels, x.shape[0])
        self._fit(x, y)
        self.n_features_ = x.shape[1]
        return self

    def project(self, features: np.ndarray) -> np.ndarray:
        """Real-valued outputs (n, bits) before binarisation; the code is ``project(x) > 0``."""
        if not self.is_fitted:
            raise RuntimeError(f"{self._label()} is not fitted: call fit() before encode()")
        x = _as_features(features, "features")
        if x.shape[1] != self.n_features_:
            raise ValueError(
                f"features have {x.shape[1]} columns but {self._label()} was fitted on "
                f"{self.n_features_}"
            )
        return self._project(x)

    def encode(self, features: np.ndarray) -> np.ndarray:
        """{0,1} uint8 codes of shape (n, bits)."""
        return (self.project(features) > 0).astype(np.uint8)

    @abc.abstractmethod
    def _fit(self, x: np.ndarray, y: np.ndarray | None) -> None: ...

    @abc.abstractmethod
    def _project(self, x: np.ndarray) -> np.ndarray: ...

    def _label(self) -> str:
        return self.name or type(self).__name__


def _as_features(features: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(features)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{what} must be a real numeric array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n, d), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{what} have no columns")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return arr


def _as_multi_hot(labels: np.ndarray, n: int) -> np.ndarray:
    """Multi-hot (n, c) in {0,1}; a 1-D integer vector is read as class ids and one-hot coded."""
    arr = np.asarray(labels)
    if arr.ndim == 1:
        if not np.issubdtype(arr.dtype, np.integer) or (arr.size and arr.min() < 0):
            raise ValueError("1-D labels must be non-negative integer class ids")
        onehot = np.zeros((arr.shape[0], int(arr.max()) + 1 if arr.size else 0))
        onehot[np.arange(arr.shape[0]), arr] = 1.0
        arr = onehot
    if arr.ndim != 2:
        raise ValueError(
            f"labels must be multi-hot (n, c) or class ids (n,), got shape {arr.shape}"
        )
    if arr.shape[0] != n:
        raise ValueError(f"labels have {arr.shape[0]} rows but features have {n}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("multi-hot labels must hold only 0 and 1")
    return arr.astype(np.float64)


def register_baseline(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator adding a baseline under ``name`` (also stored as ``cls.name``)."""

    def wrap(cls: type[T]) -> type[T]:
        if name in _BASELINES:
            raise ValueError(f"baseline {name!r} is registered twice")
        cls.name = name
        _BASELINES[name] = cls
        return cls

    return wrap


def list_baselines() -> list[str]:
    """Names accepted by :func:`create_baseline`."""
    _import_builtin_baselines()
    return sorted(_BASELINES)


def create_baseline(name: str, bits: int, **kwargs) -> HashingBaseline:
    """Build the baseline registered as ``name`` (kwargs go to its constructor)."""
    _import_builtin_baselines()
    if name not in _BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(sorted(_BASELINES))}")
    return _BASELINES[name](bits=bits, **kwargs)


def _import_builtin_baselines() -> None:
    # Imported lazily so that registering never forms an import cycle.
    from dshgan.baselines import itq, lsh, pcah, sdh, sh  # noqa: F401
