import numpy as np
import pytest

from dshgan.data.dataset import Catalogue, ImageDataset, dataset_fingerprint


def _tiny(n=4, c=3, multi=False):
    images = np.arange(n * 2 * 2 * 3, dtype=np.uint8).reshape(n, 2, 2, 3)
    labels = np.zeros((n, c), np.uint8)
    labels[np.arange(n), np.arange(n) % c] = 1
    if multi:
        labels[0, :] = 1
    return ImageDataset(images, labels, [f"k{j}" for j in range(c)], [f"im{i}" for i in range(n)],
                        multi, np.array(["train", "test"] * (n // 2)))


def test_class_ids_and_basic_properties():
    ds = _tiny()
    assert len(ds) == 4 and ds.num_classes == 3 and ds.image_size == (2, 2)
    assert ds.class_ids.dtype == np.int64
    assert ds.class_ids.tolist() == [0, 1, 2, 0]
    with pytest.raises(ValueError, match="single-label"):
        _ = _tiny(multi=True).class_ids


def test_subset_by_indices_and_mask_keeps_everything_aligned():
    ds = _tiny()
    sub = ds.subset([3, 1])
    assert sub.names == ["im3", "im1"]
    assert np.array_equal(sub.images, ds.images[[3, 1]])
    assert np.array_equal(sub.labels, ds.labels[[3, 1]])
    assert sub.official_split.tolist() == ["test", "test"]
    mask = np.array([True, False, True, False])
    assert ds.subset(mask).names == ["im0", "im2"]
    assert len(ds.subset(np.array([], dtype=np.int64))) == 0
    with pytest.raises(IndexError):
        ds.subset([4])
    with pytest.raises(TypeError):
        ds.subset([0.5])


@pytest.mark.parametrize("bad, match", [
    ({"images": np.zeros((4, 2, 2), np.uint8)}, "uint8 \\(n, H, W, 3\\)"),
    ({"images": np.zeros((4, 2, 2, 3), np.float32)}, "uint8"),
    ({"labels": np.zeros((4, 3), np.int64)}, "uint8"),
    ({"labels": np.full((4, 3), 2, np.uint8)}, "only 0 and 1"),
    ({"labels": np.zeros((4, 3), np.uint8)}, "no image has a label"),
    ({"labels": np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.uint8)},
     "row 0 has 2 labels"),
    ({"class_names": ["a", "b"]}, "2 class names for 3"),
    ({"names": ["a", "b", "c", "a"]}, "'a' appears twice"),
    ({"names": ["a", "b"]}, "4 images for 2 names"),
    ({"official_split": np.array(["train"])}, "official_split"),
])
def test_invalid_datasets_are_refused(bad, match):
    ds = _tiny()
    kwargs = {"images": ds.images, "labels": ds.labels, "class_names": ds.class_names,
              "names": ds.names, "multi_label": False, "official_split": ds.official_split}
    kwargs.update(bad)
    with pytest.raises(ValueError, match=match):
        ImageDataset(**kwargs)


def test_fingerprint_ignores_pixels_but_not_names_or_labels():
    ds = _tiny()
    other_pixels = ImageDataset(ds.images[:, :1, :1].copy(), ds.labels, ds.class_names, ds.names)
    assert other_pixels.fingerprint() == ds.fingerprint() == ds.catalogue.fingerprint()
    renamed = ImageDataset(ds.images, ds.labels, ds.class_names, ["x", *ds.names[1:]])
    assert renamed.fingerprint() != ds.fingerprint()
    relabelled = ds.labels.copy()
    relabelled[0] = [0, 1, 0]
    assert dataset_fingerprint(ds.names, relabelled, ds.class_names) != ds.fingerprint()


def test_catalogue_validates_like_the_dataset():
    ds = _tiny()
    cat = ds.catalogue
    assert isinstance(cat, Catalogue) and len(cat) == 4 and cat.class_ids.tolist() == [0, 1, 2, 0]
    with pytest.raises(ValueError, match="appears twice"):
        Catalogue(["a", "a"], ds.labels[:2], ds.class_names)


def test_rows_of_zeros_are_unlabelled_images():
    ds = _tiny()
    labels = ds.labels.copy()
    labels[[1, 3]] = 0
    mixed = ImageDataset(ds.images, labels, ds.class_names, ds.names)
    assert mixed.is_labelled.tolist() == [True, False, True, False]
    assert mixed.class_ids.tolist() == [int(ds.class_ids[0]), -1, int(ds.class_ids[2]), -1]
    assert mixed.catalogue.is_labelled.tolist() == [True, False, True, False]
