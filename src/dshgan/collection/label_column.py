"""Label names per item, stored as one flat array of name numbers plus offsets.

Why not a list of lists: a million Python lists take seconds to parse from JSON and to build at
every load, and ``dshgan search`` loads the index on every call; as arrays they load in
milliseconds and a result row reads its labels on demand.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype).copy()


class LabelColumn:
    """Item i has the label names ``names[idx[ptr[i]:ptr[i + 1]]]``."""

    def __init__(self, names: Sequence[str] = (), idx: np.ndarray | None = None,
                 ptr: np.ndarray | None = None):
        self.names = list(names)
        self._number = {n: i for i, n in enumerate(self.names)}
        self.idx = np.zeros(0, np.int32) if idx is None else np.asarray(idx, np.int32)
        self.ptr = np.zeros(1, np.int64) if ptr is None else np.asarray(ptr, np.int64)
        if (self.ptr.ndim != 1 or len(self.ptr) < 1 or self.ptr[0] != 0
                or self.ptr[-1] != len(self.idx) or (np.diff(self.ptr) < 0).any()
                or (len(self.idx) and not 0 <= self.idx.min() <= self.idx.max()
                    < len(self.names))):
            raise ValueError("inconsistent label offsets or label numbers")

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def __getitem__(self, i: int) -> list[str]:
        return [self.names[j] for j in self.idx[self.ptr[i]:self.ptr[i + 1]]]

    def to_lists(self) -> list[list[str]]:
        return [self[i] for i in range(len(self))]

    def extend(self, labels: Sequence[Sequence[str]]) -> None:
        numbers = []
        for item in labels:
            for name in item:
                if name not in self._number:
                    self._number[name] = len(self.names)
                    self.names.append(name)
                numbers.append(self._number[name])
        counts = np.array([len(item) for item in labels], np.int64)
        self.idx = np.concatenate([self.idx, np.array(numbers, np.int32)])
        self.ptr = np.concatenate([self.ptr, self.ptr[-1] + np.cumsum(counts)])

    def keep(self, rows: np.ndarray) -> None:
        """Keep only these items (ascending rows)."""
        counts = np.diff(self.ptr)[rows]
        ends = np.cumsum(counts)
        # position k of the kept labels comes from ptr[row] + (k - where that row now starts)
        source = np.repeat(self.ptr[rows] - (ends - counts), counts) + np.arange(ends[-1] if
                                                                             len(ends) else 0)
        self.idx = self.idx[source]
        self.ptr = np.concatenate([[0], ends]).astype(np.int64)

    def counts(self) -> dict[str, int]:
        per_name = np.bincount(self.idx, minlength=len(self.names))
        return {n: int(c) for n, c in sorted(zip(self.names, per_name)) if c}

    def unlabelled(self) -> int:
        return int((np.diff(self.ptr) == 0).sum())

    def to_json(self) -> dict | None:
        if len(self.idx) == 0:
            return None
        return {"names": self.names, "numbers": _b64(self.idx, "<i4"),
                "offsets": _b64(self.ptr, "<i8")}

    @classmethod
    def from_json(cls, doc: dict | None, n: int) -> LabelColumn:
        if doc is None:
            return cls(ptr=np.zeros(n + 1, np.int64))
        column = cls(doc["names"], _unb64(doc["numbers"], "<i4"), _unb64(doc["offsets"], "<i8"))
        if len(column) != n:
            raise ValueError(f"{len(column)} label rows for {n} items")
        return column
