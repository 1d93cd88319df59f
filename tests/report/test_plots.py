import numpy as np
import pytest
from PIL import Image

from dshgan.report.plots import (
    IRRELEVANT_RGB,
    RELEVANT_RGB,
    plot_image_grid,
    plot_pr_curves,
    plot_precision_at_n,
    plot_retrieval_examples,
    plot_training_curves,
)

DPI = 60
MPL_BLUE = (0x1F, 0x77, 0xB4)  # matplotlib's first cycle colour: the first curve is drawn


def _rgb(path):
    assert path.stat().st_size > 0
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.verify()
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"))
    assert arr.shape[0] > 10 and arr.shape[1] > 10
    return arr


def _mask(arr, rgb):
    return np.all(arr == np.array(rgb, np.uint8), axis=-1)


def test_pr_curves_png(tmp_path):
    curves = {
        "DSH-GAN": (np.linspace(1, 0.3, 13), np.linspace(0, 1, 13)),
        "ITQ": ([0.6, 0.4, 0.1], [0.0, 0.5, 1.0]),
    }
    arr = _rgb(plot_pr_curves(curves, tmp_path / "pr.png", title="PR", dpi=DPI))
    assert _mask(arr, MPL_BLUE).sum() > 20


def test_precision_at_n_png(tmp_path):
    curves = {"DSH-GAN": (np.arange(100, 1001, 100), np.linspace(0.9, 0.8, 10))}
    arr = _rgb(plot_precision_at_n(curves, tmp_path / "pn.png", dpi=DPI))
    assert _mask(arr, MPL_BLUE).sum() > 20


@pytest.mark.parametrize(
    "curves, error",
    [
        ({}, ValueError),
        ({"m": (np.ones(3), np.ones(4))}, ValueError),
        ({"m": (np.array([1.5, 0.5]), np.array([0.0, 1.0]))}, ValueError),
        ({"m": (np.ones((2, 2)), np.ones((2, 2)))}, ValueError),
        ({"m": (np.array(["a", "b"]), np.array([0.0, 1.0]))}, TypeError),
        ({"m": np.ones(3)}, ValueError),
    ],
)
def test_pr_curves_bad_input(tmp_path, curves, error):
    with pytest.raises(error):
        plot_pr_curves(curves, tmp_path / "pr.png", dpi=DPI)
    assert not (tmp_path / "pr.png").exists()


def test_precision_at_n_rejects_nonpositive_n(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        plot_precision_at_n({"m": ([0, 10], [0.5, 0.5])}, tmp_path / "pn.png", dpi=DPI)


def _solid_images(n, h=8, w=8):
    # Distinct, saturated colours far from the white background and the grey text.
    colors = [(37 * i % 256, 255 - 23 * i % 256, 80 + 11 * i) for i in range(n)]
    imgs = np.empty((n, h, w, 3), np.uint8)
    for i, c in enumerate(colors):
        imgs[i] = c
    return imgs, colors


def test_image_grid_layout_row_by_row(tmp_path):
    imgs, colors = _solid_images(10)
    arr = _rgb(plot_image_grid(imgs, tmp_path / "grid.png", nrow=5,
                               row_labels=["cat", "dog"], title="G(z, y)", dpi=DPI))
    centres = []
    for c in colors:
        ys, xs = np.nonzero(_mask(arr, c))
        assert ys.size > 0, f"colour {c} missing from the grid"
        centres.append((ys.mean(), xs.mean()))
    centres = np.array(centres)
    # Images 0-4 share the first row, 5-9 the second; x grows along each row.
    assert np.ptp(centres[:5, 0]) < 1 and np.ptp(centres[5:, 0]) < 1
    assert centres[5, 0] > centres[0, 0]
    assert np.all(np.diff(centres[:5, 1]) > 0) and np.allclose(centres[:5, 1], centres[5:, 1])


def test_image_grid_accepts_grey_and_partial_last_row(tmp_path):
    grey = np.full((7, 6, 6), 90, np.uint8)
    arr = _rgb(plot_image_grid(grey, tmp_path / "g.png", nrow=3, dpi=DPI))
    assert _mask(arr, (90, 90, 90)).sum() > 0


@pytest.mark.parametrize(
    "images, nrow, labels, error",
    [
        (np.zeros((4, 8, 8, 3), np.float32), 2, None, TypeError),
        (np.zeros((4, 8, 8, 4), np.uint8), 2, None, ValueError),
        (np.zeros((0, 8, 8, 3), np.uint8), 2, None, ValueError),
        (np.zeros((4, 8, 8, 3), np.uint8), 0, None, ValueError),
        (np.zeros((4, 8, 8, 3), np.uint8), 2, ["one row only"], ValueError),
    ],
)
def test_image_grid_bad_input(tmp_path, images, nrow, labels, error):
    with pytest.raises(error):
        plot_image_grid(images, tmp_path / "g.png", nrow=nrow, row_labels=labels, dpi=DPI)


def _retrieval(tmp_path, relevant, name="r.png"):
    q, k = relevant.shape
    queries = np.full((q, 16, 16, 3), 128, np.uint8)
    retrieved = np.full((q, k, 16, 16, 3), 128, np.uint8)
    path = plot_retrieval_examples(queries, retrieved, relevant, tmp_path / name,
                                   query_labels=[f"class {i}" for i in range(q)],
                                   title="top-k", dpi=DPI)
    arr = _rgb(path)
    return _mask(arr, RELEVANT_RGB), _mask(arr, IRRELEVANT_RGB)


def test_retrieval_frames_green_where_relevant_red_where_not(tmp_path):
    green, red = _retrieval(tmp_path, np.array([[True, False, True]]))
    gx, rx = np.nonzero(green)[1], np.nonzero(red)[1]
    assert gx.size > 50 and rx.size > 50
    # The red frame is the middle result, between the two green ones and apart from them.
    assert gx.min() < rx.min() and rx.max() < gx.max()
    assert not np.any((gx >= rx.min()) & (gx <= rx.max()))


def test_retrieval_all_relevant_or_none(tmp_path):
    green, red = _retrieval(tmp_path, np.ones((2, 4), bool), "all.png")
    assert green.sum() > 0 and red.sum() == 0
    green, red = _retrieval(tmp_path, np.zeros((2, 4), np.int64), "none.png")
    assert green.sum() == 0 and red.sum() > 0


def test_retrieval_rows_follow_queries(tmp_path):
    green, red = _retrieval(tmp_path, np.array([[True, True], [False, False]]))
    assert np.nonzero(green)[0].max() < np.nonzero(red)[0].min()


@pytest.mark.parametrize(
    "q_shape, r_shape, rel_shape, labels",
    [
        ((2, 8, 8, 3), (3, 4, 8, 8, 3), (2, 4), None),  # retrieved for 3 queries
        ((2, 8, 8, 3), (2, 4, 9, 8, 3), (2, 4), None),  # size mismatch
        ((2, 8, 8, 3), (2, 4, 8, 8, 3), (2, 3), None),  # relevant shape
        ((2, 8, 8, 3), (2, 4, 8, 8, 3), (2, 4), ["only one"]),
        ((2, 8, 8, 3), (2, 0, 8, 8, 3), (2, 0), None),
    ],
)
def test_retrieval_bad_shapes(tmp_path, q_shape, r_shape, rel_shape, labels):
    with pytest.raises(ValueError):
        plot_retrieval_examples(np.zeros(q_shape, np.uint8), np.zeros(r_shape, np.uint8),
                                np.zeros(rel_shape, bool), tmp_path / "r.png",
                                query_labels=labels, dpi=DPI)


def test_retrieval_rejects_non_boolean_relevance(tmp_path):
    with pytest.raises(TypeError):
        plot_retrieval_examples(np.zeros((1, 8, 8, 3), np.uint8),
                                np.zeros((1, 2, 8, 8, 3), np.uint8),
                                np.array([[0.5, 1.0]]), tmp_path / "r.png", dpi=DPI)


def test_training_curves(tmp_path):
    rng = np.random.default_rng(0)
    history = {
        "step": list(range(0, 400, 4)),
        "d_loss": list(rng.random(100)),
        "triplet": [float(v) for v in np.exp(-np.arange(100) / 20)],
        "cls_per_epoch": [1.0, 0.5, float("nan"), 0.3],
        "logged_sometimes": [None, 2.0, None, 1.0],
    }
    arr = _rgb(plot_training_curves(history, tmp_path / "loss.png", title="stage 2", dpi=DPI))
    assert _mask(arr, MPL_BLUE).sum() > 20
    with pytest.raises(ValueError):
        plot_training_curves({}, tmp_path / "x.png", dpi=DPI)
    with pytest.raises(ValueError, match="x axis"):
        plot_training_curves({"step": [1, 2]}, tmp_path / "x.png", dpi=DPI)
    with pytest.raises(ValueError, match="empty"):
        plot_training_curves({"g": []}, tmp_path / "x.png", dpi=DPI)
