"""faiss as an optional back end behind the HammingIndex API (``pip install dshgan[faiss]``).

The rows, ids and file format stay ours; a faiss ``IndexBinaryFlat`` holding the same rows in
the same order answers the searches. faiss breaks distance ties by smaller row, and rows
ascend with ids, so k-NN answers match the exact (distance, id) order. faiss's range search is
strict (``< r``): ours is inclusive, so we ask faiss for ``radius + 1``. faiss needs whole
bytes; the zero padding of packed codes leaves every distance unchanged.
"""

from __future__ import annotations

import numpy as np

from dshgan.index.flat import HammingIndex


def import_faiss():
    """The faiss module, or an ImportError that says how to install it."""
    try:
        import faiss
    except ImportError as err:  # pragma: no cover - exercised only without faiss
        raise ImportError(
            "the faiss back end needs faiss: pip install 'dshgan[faiss]' (or faiss-cpu)"
        ) from err
    return faiss


class FaissHammingIndex(HammingIndex):
    """HammingIndex whose searches run in faiss ``IndexBinaryFlat`` (a second copy of codes)."""

    def __init__(self, bits: int, *, multi_index: int | None = None) -> None:
        if multi_index is not None:
            raise ValueError("the faiss back end has no multi-index option; use 'mih:M'")
        self._faiss_module = import_faiss()
        self._faiss = None
        super().__init__(bits)

    def _changed(self) -> None:
        super()._changed()
        self._faiss = None

    def _faiss_index(self):
        if self._faiss is None:
            index = self._faiss_module.IndexBinaryFlat(8 * self.nbytes_per_code)
            index.add(self.codes(packed=True))
            self._faiss = index
        return self._faiss

    @property
    def nbytes(self) -> int:
        extra = len(self) * self.nbytes_per_code if self._faiss is not None else 0
        return super().nbytes + extra

    def _knn_rows(self, qpacked: np.ndarray, qplanes: tuple, k: int) -> tuple[np.ndarray, ...]:
        d, rows = self._faiss_index().search(qpacked, k)
        return d.astype(np.int32), rows.astype(np.int64)

    def _range_rows(self, qpacked: np.ndarray, qplanes: tuple,
                    radius: int) -> tuple[np.ndarray, ...]:
        lims, d, rows = self._faiss_index().range_search(qpacked, radius + 1)
        lims = lims.astype(np.int64)
        query = np.repeat(np.arange(qpacked.shape[0]), np.diff(lims))
        order = np.lexsort((rows, d, query))  # faiss leaves each query's hits unordered
        return lims, d[order].astype(np.int32), rows[order].astype(np.int64)
