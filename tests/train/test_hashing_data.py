import numpy as np
import torch

from dshgan.nets import HashingNet
from dshgan.train.consistency import PoolConsistency
from dshgan.train.hashing_data import HashingData
from dshgan.train.self_training import class_probabilities

CPU = torch.device("cpu")


class RowsOnly:
    """A pool that can only be read a batch of rows at a time, as a large one on disk."""

    def __init__(self, images):
        self.images, self.reads = images, []

    def __len__(self):
        return len(self.images)

    def __getitem__(self, rows):
        assert isinstance(rows, np.ndarray) and rows.dtype.kind == "i", type(rows)
        self.reads.append(len(rows))
        return self.images[rows]

    def __array__(self, *args, **kwargs):
        raise AssertionError("the pool was copied whole")


def images(n):
    return np.random.default_rng(0).integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)


def test_pseudo_labelled_rows_join_training_and_validation_keeps_the_true_labels():
    x, y = images(10), np.eye(2, dtype=np.uint8)[np.arange(10) % 2]
    data = HashingData(x[:4], y[:4], x[4:6], y[4:6], unlabelled=RowsOnly(x[6:]))
    more = data.with_pseudo_labels(np.array([0, 3]), np.array([[1, 0], [0, 1]]))
    assert np.array_equal(more.train_images, np.concatenate([x[:4], x[[6, 9]]]))
    assert more.train_labels.dtype == np.uint8 and more.train_labels[-1].tolist() == [0, 1]
    assert more.validation_database[0] is data.train_images and data.num_classes == 2
    assert HashingData(x, y, x, y).validation_database[1] is y


def test_the_pool_is_only_read_by_batches_of_rows():
    pool = RowsOnly(images(300))
    torch.manual_seed(0)
    net = HashingNet("small-cnn", [8], 2, backbone_kwargs={"width": 4})
    assert class_probabilities(net, pool, False, CPU, batch_size=128).shape == (300, 2)
    term = PoolConsistency(pool, 5, 0.5, False, torch.Generator(), CPU)(net)
    assert 0 <= term.confident <= 1
    assert pool.reads == [128, 128, 44, 5]
