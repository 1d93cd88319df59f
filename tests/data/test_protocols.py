import numpy as np
import pytest

from dshgan.data.dataset import Catalogue
from dshgan.data.errors import DataError
from dshgan.data.protocols import Protocol, get_protocol, list_protocols, make_split
from dshgan.data.splitfiles import check_split


def _single_label(per_class, num_classes=10, seed=0):
    """A shuffled single-label catalogue (labels only: splits never need pixels)."""
    ids = np.random.default_rng(seed).permutation(np.repeat(np.arange(num_classes), per_class))
    labels = np.eye(num_classes, dtype=np.uint8)[ids]
    return Catalogue([f"im{i:06d}" for i in range(len(ids))], labels,
                     [f"c{k}" for k in range(num_classes)])


def _multi_label(n=20_000, concepts=21, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, concepts), np.uint8)
    labels[np.arange(n), rng.integers(0, concepts, n)] = 1
    extra = rng.random((n, concepts)) < 0.05
    labels[extra] = 1
    return Catalogue([f"im{i:06d}" for i in range(n)], labels,
                     [f"concept{k}" for k in range(concepts)], multi_label=True)


def _per_class(cat, idx):
    return cat.labels[idx].sum(axis=0)


def test_registry():
    assert {"cifar10", "cifar10-1", "nuswide21", "demo", "toy"} <= set(list_protocols())
    p = get_protocol("nuswide21")
    assert (p.query_per_class, p.labelled_per_class, p.topk) == (100, 500, 5000)
    assert get_protocol("cifar10").topk is None and get_protocol(p) is p
    with pytest.raises(ValueError, match="unknown protocol 'cifar100'; known: cifar10, cifar10-1"):
        get_protocol("cifar100")
    with pytest.raises(ValueError, match="validation_per_class"):
        Protocol("bad", 1, 2, 2, False, None, None, "")


def test_cifar10_paper_protocol_exact_counts():
    cat = _single_label(6000)
    s = make_split(cat, "cifar10", seed=0)
    assert s.counts() == {"query": 1000, "train": 4500, "validation": 500, "database": 54000,
                          "unlabelled": 54000}
    assert (_per_class(cat, s.query) == 100).all()
    assert (_per_class(cat, s.train) == 450).all()
    assert (_per_class(cat, s.validation) == 50).all()
    assert (_per_class(cat, s.database) == 5400).all()
    everything = np.concatenate([s.query, s.train, s.validation, s.database])
    assert np.array_equal(np.sort(everything), np.arange(60000))  # a partition
    assert np.array_equal(s.unlabelled, s.database)
    check_split(s, len(cat))
    assert s.topk is None and s.protocol == "cifar10" and s.seed == 0
    for part in ("query", "train", "validation", "database", "unlabelled"):
        idx = getattr(s, part)
        assert idx.dtype == np.int64 and np.array_equal(idx, np.sort(idx))


def test_cifar10_1_labelled_inside_database():
    cat = _single_label(6000)
    s = make_split(cat, "cifar10-1", seed=0)
    assert s.counts() == {"query": 1000, "train": 4500, "validation": 500, "database": 59000,
                          "unlabelled": 58500}
    assert np.array_equal(s.database, np.setdiff1d(np.arange(60000), s.query))
    assert np.isin(s.labelled, s.database).all()
    assert not np.isin(s.validation, s.unlabelled).any()  # validation never trains
    # Same seed: the same queries and labelled images as the paper's protocol.
    p = make_split(cat, "cifar10", seed=0)
    assert np.array_equal(p.query, s.query) and np.array_equal(p.train, s.train)


def test_nuswide21_multilabel_draw():
    cat = _multi_label()
    s = make_split(cat, "nuswide21", seed=3)
    assert s.counts()["query"] == 2100 and len(s.labelled) == 10500
    assert len(s.validation) == 1050 and len(s.train) == 9450
    assert len(s.database) == 20_000 - 2100 - 10500 and s.topk == 5000
    assert (_per_class(cat, s.query) >= 100).all()  # each concept drew 100 images having it
    assert (_per_class(cat, s.labelled) >= 500).all()
    assert (_per_class(cat, s.validation) >= 50).all()
    check_split(s, len(cat))
    assert np.array_equal(np.sort(np.concatenate([s.query, s.labelled, s.database])),
                          np.arange(len(cat)))


def test_demo_on_the_sample_shape_and_validation_carved_from_labelled():
    cat = _single_label(300)
    s = make_split(cat, "demo", seed=0)
    assert s.counts() == {"query": 200, "train": 540, "validation": 60, "database": 2200,
                          "unlabelled": 2200}
    assert (_per_class(cat, s.validation) == 6).all() and (_per_class(cat, s.train) == 54).all()


def test_seeded():
    cat = _single_label(300)
    a, b, c = (make_split(cat, "demo", seed) for seed in (5, 5, 6))
    for part in ("query", "train", "validation", "database"):
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.query, c.query) and not np.array_equal(a.train, c.train)


def test_single_label_draw_is_uniform_within_class():
    """Over many seeds every image of a class is a query about equally often."""
    cat = _single_label(10, num_classes=2)
    counts = np.zeros(len(cat))
    for seed in range(400):
        counts[make_split(cat, "toy", seed).query] += 1
    assert counts.sum() == 400 * 4
    assert np.abs(counts / 400 - 0.2).max() < 0.08  # 2 queries of 10 per class


def test_too_few_images_names_the_class():
    ids = np.array([0] * 700 + [1] * 650 + [2] * 599)
    cat = Catalogue([f"i{i}" for i in range(len(ids))], np.eye(3, dtype=np.uint8)[ids],
                    ["plane", "car", "bird"])
    with pytest.raises(DataError, match=r"class 'bird' has 499 images left \(of 599\) but the "
                                        "labelled set needs 500.*labelled set would miss"):
        make_split(cat, "cifar10", seed=0)
    tiny = Catalogue(["a", "b"], np.eye(2, dtype=np.uint8), ["x", "y"])
    with pytest.raises(DataError, match="class 'x' has 1 images left .* query set needs 100"):
        make_split(tiny, "cifar10", seed=0)


def test_protocol_kind_must_match_the_data():
    with pytest.raises(DataError, match="'cifar10' is for single-label data"):
        make_split(_multi_label(n=3000), "cifar10", seed=0)
    with pytest.raises(DataError, match="'nuswide21' is for multi-label data"):
        make_split(_single_label(6000), "nuswide21", seed=0)


def test_check_split_catches_overlaps(toy_dataset):
    s = make_split(toy_dataset, "toy", seed=0)
    check_split(s, len(toy_dataset))
    bad = type(s)(s.query, s.train, s.validation, np.union1d(s.database, s.query[:1]),
                  s.unlabelled, s.protocol, s.seed, s.topk)
    with pytest.raises(DataError, match="'query' and 'database' share 1"):
        check_split(bad, len(toy_dataset))
    with pytest.raises(DataError, match="outside"):
        check_split(s, 10)


def test_unlabelled_images_are_never_drawn_and_join_only_the_pool():
    from dshgan.data import Catalogue

    labels = np.zeros((40, 2), np.uint8)
    labels[:10, 0] = 1
    labels[10:20, 1] = 1  # rows 20..39 unlabelled
    cat = Catalogue([f"i{i}" for i in range(40)], labels, ["a", "b"])
    proto = Protocol("t", 2, 4, 1, labelled_in_database=True, topk=None, multi_label=False,
                     description="")
    split = make_split(cat, proto, seed=3)
    drawn = np.concatenate([split.query, split.train, split.validation, split.database])
    assert (drawn < 20).all()  # queries, labelled and the scored database: labelled only
    assert set(range(20, 40)) <= set(split.unlabelled.tolist())
    assert not set(split.validation) & set(split.unlabelled)
    assert len(split.database) == 16  # every labelled image but the 4 queries


def test_no_queries_is_a_train_only_split(toy_dataset):
    proto = Protocol("t", 0, 4, 1, labelled_in_database=False, topk=None, multi_label=False,
                     description="")
    split = make_split(toy_dataset, proto, seed=0)
    assert len(split.query) == 0 and len(split.train) == 12 and len(split.validation) == 4
