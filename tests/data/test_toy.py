import colorsys

import numpy as np
import pytest
from PIL import Image

from dshgan.data.toy import make_mosaic_multilabel, make_toy_dataset


def test_shapes_counts_and_determinism():
    ds = make_toy_dataset(n_per_class=5, num_classes=3, image_size=24, seed=7)
    assert ds.images.shape == (15, 24, 24, 3) and ds.images.dtype == np.uint8
    assert ds.labels.sum(axis=0).tolist() == [5, 5, 5] and not ds.multi_label
    assert ds.class_ids.tolist() == sorted(ds.class_ids.tolist())
    again = make_toy_dataset(n_per_class=5, num_classes=3, image_size=24, seed=7)
    other = make_toy_dataset(n_per_class=5, num_classes=3, image_size=24, seed=8)
    assert np.array_equal(ds.images, again.images)
    assert not np.array_equal(ds.images, other.images)
    assert ds.images.std() > 20  # not blank


def _hue_histogram(images):
    hsv = np.array([[colorsys.rgb_to_hsv(*p) for p in im.reshape(-1, 3) / 255.0]
                    for im in images])
    feats = []
    for h in hsv:
        coloured = h[h[:, 1] > 0.5, 0]
        counts = np.histogram(coloured, bins=24, range=(0, 1))[0]
        feats.append(counts / max(1, counts.sum()))
    return np.stack(feats)


def _leave_one_out_nearest_centroid(x, y):
    hits = 0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        centroids = np.stack([x[keep & (y == k)].mean(axis=0) for k in np.unique(y)])
        hits += int(np.argmin(((centroids - x[i]) ** 2).sum(axis=1)) == y[i])
    return hits / len(y)


def test_classes_are_learnable_and_labels_matter(toy_dataset):
    """A nearest-centroid rule on colour alone separates the classes; shuffled labels do not."""
    x, y = _hue_histogram(toy_dataset.images), toy_dataset.class_ids
    assert _leave_one_out_nearest_centroid(x, y) >= 0.85
    shuffled = np.random.default_rng(0).permutation(y)
    assert _leave_one_out_nearest_centroid(x, shuffled) <= 0.6


def test_multilabel_toy(toy_multilabel_dataset):
    ds = toy_multilabel_dataset
    per_row = ds.labels.sum(axis=1)
    assert ds.multi_label and per_row.min() >= 1 and per_row.max() <= 3 and (per_row > 1).any()
    assert (ds.labels[np.arange(48), np.arange(48) % 4] == 1).all()
    with pytest.raises(ValueError, match="single-label"):
        _ = ds.class_ids


def test_mosaic_tiles_and_union_labels(toy_dataset):
    mosaic = make_mosaic_multilabel(toy_dataset, n=6, seed=3)
    assert mosaic.images.shape == (6, 32, 32, 3) and mosaic.multi_label
    rng = np.random.default_rng(3)
    for i in range(6):
        picks = rng.integers(0, len(toy_dataset), size=4)
        want = np.zeros(4, np.uint8)
        for t, j in enumerate(picks):
            r, c = divmod(t, 2)
            tile = np.asarray(Image.fromarray(toy_dataset.images[j]).resize((16, 16),
                                                                           Image.BILINEAR))
            assert np.array_equal(mosaic.images[i, r * 16:(r + 1) * 16, c * 16:(c + 1) * 16],
                                  tile)
            want |= toy_dataset.labels[j]
        assert np.array_equal(mosaic.labels[i], want)


def test_odd_sizes_and_bad_arguments():
    ds = make_toy_dataset(n_per_class=2, num_classes=2, image_size=9)
    assert make_mosaic_multilabel(ds, 3).images.shape == (3, 9, 9, 3)
    with pytest.raises(ValueError):
        make_toy_dataset(n_per_class=0)
    with pytest.raises(ValueError):
        make_toy_dataset(image_size=4)
    with pytest.raises(ValueError):
        make_mosaic_multilabel(ds, 0)
