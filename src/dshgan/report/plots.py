"""PNG figures: PR and P@N curves, image grids, retrieval examples, training curves.

We draw on ``matplotlib.figure.Figure`` with the Agg canvas and never import ``pyplot``: no global
backend switch, no figure registry that leaks memory in a long training loop, and no display
needed on a headless server. Each function renders to memory and writes the PNG atomically.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dshgan.io_utils import atomic_write_bytes

RELEVANT_RGB = (0, 170, 0)
IRRELEVANT_RGB = (210, 0, 0)
QUERY_RGB = (40, 40, 40)
_BACKGROUND = 255


# --------------------------------------------------------------------------- helpers


def _new_figure(width: float, height: float, dpi: int) -> Figure:
    if not isinstance(dpi, int) or isinstance(dpi, bool) or dpi <= 0:
        raise ValueError(f"dpi must be a positive int, got {dpi!r}")
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write_bytes(path, buf.getvalue())


def _vector(x, where: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{where} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{where} is empty")
    if not (np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)):
        raise TypeError(f"{where} must be real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _curves(curves, names: tuple[str, str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Validate ``{label: (a, b)}`` of equal-length 1-D arrays."""
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(f"curves must be a non-empty dict {{label: ({names[0]}, {names[1]})}}")
    out = {}
    for label, pair in curves.items():
        if not isinstance(label, str):
            raise TypeError(f"curve labels must be str, got {label!r}")
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"curves[{label!r}] must be a pair ({names[0]}, {names[1]})")
        a = _vector(pair[0], f"curves[{label!r}] {names[0]}")
        b = _vector(pair[1], f"curves[{label!r}] {names[1]}")
        if a.shape != b.shape:
            raise ValueError(f"curves[{label!r}]: {names[0]} has {a.size} points, "
                             f"{names[1]} has {b.size}")
        out[label] = (a, b)
    return out


def _check_unit(arr: np.ndarray, where: str) -> None:
    finite = arr[~np.isnan(arr)]
    if finite.size and (finite.min() < -1e-9 or finite.max() > 1 + 1e-9):
        raise ValueError(f"{where} must lie in [0, 1], got range "
                         f"[{finite.min():.4g}, {finite.max():.4g}]")


def _images(arr, where: str, ndim: int) -> np.ndarray:
    """uint8 images with a trailing channel axis of 3 (grey ones are repeated)."""
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise TypeError(f"{where} must be uint8 (0..255), got dtype {arr.dtype}")
    if arr.ndim == ndim - 1:  # grey without a channel axis
        arr = arr[..., None]
    if arr.ndim != ndim or arr.shape[-1] not in (1, 3):
        raise ValueError(f"{where} must have shape (..., H, W, 3) with {ndim} axes, "
                         f"got {arr.shape}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    return arr


def _title(fig: Figure, title: str) -> None:
    if title:
        fig.suptitle(title, fontsize=11)


# --------------------------------------------------------------------------- curves


def plot_pr_curves(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    title: str = "",
    dpi: int = 100,
) -> Path:
    """Precision (y) against recall (x), one line per method, one marker per Hamming radius."""
    data = _curves(curves, ("precision", "recall"))
    fig = _new_figure(5.0, 4.0, dpi)
    ax = fig.add_subplot()
    for label, (precision, recall) in data.items():
        _check_unit(precision, f"curves[{label!r}] precision")
        _check_unit(recall, f"curves[{label!r}] recall")
        ax.plot(recall, precision, marker="o", markersize=3, linewidth=1.4, label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    _title(fig, title)
    fig.tight_layout()
    return _save(fig, path)


def plot_precision_at_n(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    title: str = "",
    dpi: int = 100,
) -> Path:
    """Precision of the top N returned items against N, one line per method."""
    data = _curves(curves, ("n", "precision"))
    fig = _new_figure(5.0, 4.0, dpi)
    ax = fig.add_subplot()
    for label, (ns, precision) in data.items():
        if np.any(ns <= 0):
            raise ValueError(f"curves[{label!r}] n must be positive, got min {ns.min():g}")
        _check_unit(precision, f"curves[{label!r}] precision")
        ax.plot(ns, precision, marker="o", markersize=3, linewidth=1.4, label=label)
    ax.set_xlabel("number of returned items N")
    ax.set_ylabel("precision@N")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    _title(fig, title)
    fig.tight_layout()
    return _save(fig, path)


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that skips NaN (a diverged step should not blank the curve).

    Centred rather than trailing so that the smooth line does not lag behind the raw one.
    """
    ok = ~np.isnan(y)
    kernel = np.ones(window)
    start = (window - 1) // 2
    sums = np.convolve(np.where(ok, y, 0.0), kernel, mode="full")[start: start + y.size]
    counts = np.convolve(ok.astype(float), kernel, mode="full")[start: start + y.size]
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _none_to_nan(values):
    """A term logged only on some steps may hold None; draw those steps as gaps."""
    if isinstance(values, np.ndarray):
        return values
    return [np.nan if v is None else v for v in values]


def plot_training_curves(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "",
    dpi: int = 100,
) -> Path:
    """One small panel per loss term (terms differ in scale by orders of magnitude).

    A key named ``"step"`` or ``"epoch"`` is used as the x axis for terms of the same length
    instead of being drawn; ``None`` or NaN values are drawn as gaps. Long noisy curves get a moving average over the raw line.
    """
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be a non-empty dict {term: [values...]}")
    x_key = next((k for k in ("step", "epoch") if k in history), None)
    x_axis = _vector(history[x_key], f"history[{x_key!r}]") if x_key else None
    terms = {k: _vector(_none_to_nan(v), f"history[{k!r}]")
             for k, v in history.items() if k != x_key}
    if not terms:
        raise ValueError(f"history holds only the x axis {x_key!r}, no loss term")
    ncols = min(3, len(terms))
    nrows = math.ceil(len(terms) / ncols)
    fig = _new_figure(3.3 * ncols, 2.4 * nrows + (0.4 if title else 0.0), dpi)
    for i, (name, y) in enumerate(terms.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        x = x_axis if x_axis is not None and x_axis.size == y.size else np.arange(y.size)
        window = max(1, y.size // 20)
        if window >= 3:
            ax.plot(x, y, linewidth=0.8, alpha=0.35, color="C0")
            ax.plot(x, _smooth(y, window), linewidth=1.4, color="C0")
        else:
            ax.plot(x, y, linewidth=1.4, marker="o" if y.size <= 30 else None, markersize=3,
                    color="C0")
        if x is not x_axis or np.all(x == np.round(x)):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(str(name), fontsize=9)
        ax.set_xlabel(x_key if x_key and x is x_axis else "step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    _title(fig, title)
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------------------- image mosaics


def _figure_for_mosaic(
    shape: tuple[int, int], image_px: int, dpi: int, margins: dict[str, float]
) -> Figure:
    """A figure whose image area shows the mosaic at a whole-number zoom.

    Small images (CIFAR's 32 px) are blown up to about 64 px each, within a 2400 px wide
    figure; a whole-number zoom with nearest-neighbour keeps frame colours exact in the PNG.
    Margins (inches) leave room for labels around the image area.
    """
    h, w = shape
    zoom = min(4, max(1, math.ceil(64 / max(image_px, 1))))
    while zoom > 1 and w * zoom > 2400:
        zoom -= 1
    img_w, img_h = w * zoom / dpi, h * zoom / dpi
    width = img_w + margins["left"] + margins["right"]
    height = img_h + margins["top"] + margins["bottom"]
    fig = _new_figure(width, height, dpi)
    fig.subplots_adjust(
        left=margins["left"] / width,
        right=1 - margins["right"] / width,
        bottom=margins["bottom"] / height,
        top=1 - margins["top"] / height,
    )
    return fig


def plot_image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    nrow: int,
    row_labels: list[str] | None = None,
    title: str = "",
    dpi: int = 100,
) -> Path:
    """Lay uint8 images (n, H, W, 3) out row by row, ``nrow`` images per row.

    ``nrow`` follows ``torchvision.utils.make_grid``: images per row, so n=100 synthetic images
    of 10 classes with ``nrow=10`` give one class per row. ``row_labels`` (e.g. the class
    names) must then name every row: ceil(n / nrow) of them.
    """
    imgs = _images(images, "images", 4)
    n, h, w, _ = imgs.shape
    if n == 0:
        raise ValueError("images is empty")
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow <= 0:
        raise ValueError(f"nrow (images per row) must be a positive int, got {nrow!r}")
    ncol = min(int(nrow), n)
    rows = math.ceil(n / ncol)
    if row_labels is not None and len(row_labels) != rows:
        raise ValueError(f"row_labels has {len(row_labels)} labels but the grid has {rows} rows "
                         f"({n} images, nrow={nrow} images per row)")
    pad = max(1, min(h, w) // 16)
    mosaic = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, 3), _BACKGROUND, np.uint8)
    for i in range(n):
        r, c = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        mosaic[y: y + h, x: x + w] = imgs[i]
    left = 0.15 + (0.075 * max(len(str(s)) for s in row_labels) if row_labels else 0.0)
    fig = _figure_for_mosaic(mosaic.shape[:2], min(h, w), dpi, {
        "left": left, "right": 0.1, "bottom": 0.1, "top": 0.45 if title else 0.1})
    ax = fig.add_subplot()
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_frame_on(False)
    ax.set_xticks([])
    if row_labels:
        ax.set_yticks([pad + r * (h + pad) + (h - 1) / 2 for r in range(rows)])
        ax.set_yticklabels([str(s) for s in row_labels], fontsize=9)
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    _title(fig, title)
    return _save(fig, path)


def _frame(cell: np.ndarray, rgb: tuple[int, int, int], width: int) -> None:
    cell[:width] = rgb
    cell[-width:] = rgb
    cell[:, :width] = rgb
    cell[:, -width:] = rgb


def plot_retrieval_examples(
    query_images: np.ndarray,
    retrieved_images: np.ndarray,
    relevant: np.ndarray,
    path: str | os.PathLike,
    query_labels: list[str] | None = None,
    title: str = "",
    dpi: int = 100,
) -> Path:
    """One row per query: the query, a gap, then its top-k in rank order.

    Each retrieved image is framed green when relevant and red when not, and carries a ✓ / ✗
    so that the figure still reads in greyscale print; the row ends with its precision@k.
    """
    queries = _images(query_images, "query_images", 4)
    retrieved = _images(retrieved_images, "retrieved_images", 5)
    rel = np.asarray(relevant)
    if rel.dtype != np.bool_:
        if not np.issubdtype(rel.dtype, np.integer) or (rel.size and not np.isin(rel, (0, 1)).all()):
            raise TypeError(f"relevant must be bool (q, k), got dtype {rel.dtype}")
        rel = rel.astype(bool)
    q, h, w, _ = queries.shape
    if q == 0:
        raise ValueError("query_images is empty")
    if retrieved.shape[0] != q or retrieved.shape[2:4] != (h, w):
        raise ValueError(f"retrieved_images must be (q={q}, k, {h}, {w}, 3) to match the queries, "
                         f"got {retrieved.shape}")
    k = retrieved.shape[1]
    if k == 0:
        raise ValueError("retrieved_images holds no retrieved image (k=0)")
    if rel.shape != (q, k):
        raise ValueError(f"relevant must have shape (q, k) = {(q, k)}, got {rel.shape}")
    if query_labels is not None and len(query_labels) != q:
        raise ValueError(f"query_labels has {len(query_labels)} labels for {q} queries")

    fw = max(2, min(h, w) // 10)  # frame width, pixels of the source image
    pad = max(2, min(h, w) // 8)
    gap = 3 * pad  # sets the query apart from its results
    ch, cw = h + 2 * fw, w + 2 * fw
    mosaic_h = q * (ch + pad) + pad
    mosaic_w = pad + cw + gap + k * (cw + pad)
    mosaic = np.full((mosaic_h, mosaic_w, 3), _BACKGROUND, np.uint8)

    def place(img: np.ndarray, rgb: tuple[int, int, int], row: int, x: int) -> None:
        y = pad + row * (ch + pad)
        cell = mosaic[y: y + ch, x: x + cw]
        _frame(cell, rgb, fw)
        cell[fw: fw + h, fw: fw + w] = img

    col_x = [pad + cw + gap + j * (cw + pad) for j in range(k)]
    for i in range(q):
        place(queries[i], QUERY_RGB, i, pad)
        for j in range(k):
            place(retrieved[i, j], RELEVANT_RGB if rel[i, j] else IRRELEVANT_RGB, i, col_x[j])

    left = 0.15 + (0.075 * max(len(str(s)) for s in query_labels) if query_labels else 0.0)
    fig = _figure_for_mosaic(mosaic.shape[:2], min(h, w), dpi, {
        "left": left, "right": 0.75, "bottom": 0.1, "top": 0.65 if title else 0.35})
    ax = fig.add_subplot()
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_frame_on(False)
    ax.xaxis.tick_top()
    ax.set_xticks([pad + (cw - 1) / 2] + [x + (cw - 1) / 2 for x in col_x])
    ax.set_xticklabels(["query"] + [str(j + 1) for j in range(k)], fontsize=8)
    ax.tick_params(length=0)
    if query_labels:
        ax.set_yticks([pad + i * (ch + pad) + (ch - 1) / 2 for i in range(q)])
        ax.set_yticklabels([str(s) for s in query_labels], fontsize=9)
    else:
        ax.set_yticks([])
    for i in range(q):
        y0 = pad + i * (ch + pad)
        for j in range(k):
            ok = bool(rel[i, j])
            ax.text(col_x[j] + fw + 1, y0 + fw + 1, "✓" if ok else "✗", fontsize=8,
                    fontweight="bold", ha="left", va="top",
                    color="#{:02x}{:02x}{:02x}".format(*(RELEVANT_RGB if ok else IRRELEVANT_RGB)),
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.85})
        ax.text(mosaic_w + pad, y0 + (ch - 1) / 2, f"P@{k}\n{rel[i].mean():.2f}", fontsize=8,
                ha="left", va="center")
    _title(fig, title)
    return _save(fig, path)
