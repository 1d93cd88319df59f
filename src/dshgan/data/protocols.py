"""Evaluation protocols: seeded, disjoint query / labelled / database / unlabelled splits.

Follows the DSH-GAN paper (Qiu et al., SIGIR 2017), section 4.1: CIFAR-10 with 100 queries and
500 labelled images per class, NUS-WIDE (21 concepts) with 100 and 500 per concept.

Drawing, for every protocol: queries first, class by class (class index order), each class
taking ``query_per_class`` images chosen uniformly among the images that have that class and
are not drawn yet; then the labelled set the same way from what is left; the first
``validation_per_class`` images drawn for each class become the validation split, the rest the
training split. For single-label data this is plain stratified sampling; for multi-label data it
is the NUS-WIDE recipe (an image drawn for one concept counts once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dshgan.data.dataset import Catalogue, ImageDataset
from dshgan.data.errors import DataError


@dataclass(frozen=True)
class Protocol:
    """How to split a dataset.

    labelled_in_database: the labelled images stay in the database (cifar10-1) or are removed
    from it (cifar10, nuswide21). The database holds labelled images only (relevance must be
    known to score it). The unlabelled pool is the database plus the unlabelled images, minus
    validation images (validation never trains).
    topk: the mAP cut-off (None = the whole database). query_per_class 0: no test queries.
    """

    name: str
    query_per_class: int
    labelled_per_class: int
    validation_per_class: int
    labelled_in_database: bool
    topk: int | None
    multi_label: bool | None
    description: str

    def __post_init__(self) -> None:
        if self.query_per_class < 0 or self.labelled_per_class < 1:
            raise ValueError(f"protocol {self.name!r}: query_per_class must be >= 0 (0: "
                             "train only) and labelled_per_class >= 1")
        if not 0 <= self.validation_per_class < self.labelled_per_class:
            raise ValueError(f"protocol {self.name!r}: validation_per_class must be in "
                             f"[0, labelled_per_class)")

    @property
    def train_per_class(self) -> int:
        return self.labelled_per_class - self.validation_per_class


_PROTOCOLS: dict[str, Protocol] = {}


def register_protocol(protocol: Protocol, overwrite: bool = False) -> Protocol:
    """Add a protocol to the registry (``get_protocol`` / ``list_protocols``)."""
    if protocol.name in _PROTOCOLS and not overwrite:
        raise ValueError(f"protocol {protocol.name!r} is already registered")
    _PROTOCOLS[protocol.name] = protocol
    return protocol


def get_protocol(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    try:
        return _PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(list_protocols())}") \
            from None


def list_protocols() -> list[str]:
    return sorted(_PROTOCOLS)


register_protocol(Protocol(
    "cifar10", 100, 500, 50, labelled_in_database=False, topk=None, multi_label=False,
    description="paper's CIFAR-10: 1,000 queries, 5,000 labelled, database = the other 54,000"))
register_protocol(Protocol(
    "cifar10-1", 100, 500, 50, labelled_in_database=True, topk=None, multi_label=False,
    description="CIFAR-10 variant: 1,000 queries, database = the other 59,000, "
                "5,000 labelled drawn inside the database"))
register_protocol(Protocol(
    "nuswide21", 100, 500, 50, labelled_in_database=False, topk=5000, multi_label=True,
    description="NUS-WIDE 21 concepts: 2,100 queries, 10,500 labelled, database = the rest, "
                "mAP@5000"))
register_protocol(Protocol(
    "demo", 20, 60, 6, labelled_in_database=False, topk=None, multi_label=False,
    description="bundled CIFAR-10 sample: 20 queries and 60 labelled per class, rest database"))
register_protocol(Protocol(
    "toy", 2, 4, 1, labelled_in_database=False, topk=None, multi_label=None,
    description="tests and --dry-run on toy data: 2 queries and 4 labelled per class"))


@dataclass(frozen=True, eq=False)
class Split:
    """Sorted int64 index arrays into the dataset, plus what made them."""

    query: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    database: np.ndarray
    unlabelled: np.ndarray
    protocol: str
    seed: int
    topk: int | None

    @property
    def labelled(self) -> np.ndarray:
        """train and validation together, sorted."""
        return np.union1d(self.train, self.validation).astype(np.int64)

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k))
                for k in ("query", "train", "validation", "database", "unlabelled")}


def _draw(labels: np.ndarray, taken: np.ndarray, per_class: int, rng: np.random.Generator,
          class_names: list[str], what: str, protocol: str) -> list[np.ndarray]:
    """For each class in order, ``per_class`` untaken images having it; marks them taken."""
    drawn = []
    for k, cname in enumerate(class_names):
        pool = np.flatnonzero(labels[:, k].astype(bool) & ~taken)
        if len(pool) < per_class:
            have = int(labels[:, k].sum())
            raise DataError(
                f"protocol {protocol!r}: class {cname!r} has {len(pool)} images left (of {have}) "
                f"but the {what} set needs {per_class} per class; the {what} set would miss a "
                "class: use a protocol with smaller per-class counts or a larger dataset")
        pick = rng.permutation(pool)[:per_class]
        taken[pick] = True
        drawn.append(pick)
    return drawn


def make_split(dataset: ImageDataset | Catalogue, protocol: str | Protocol, seed: int) -> Split:
    """Draw the protocol's split with ``np.random.default_rng(seed)`` (see the module doc)."""
    proto = get_protocol(protocol)
    if proto.multi_label is not None and proto.multi_label != dataset.multi_label:
        kind = "multi-label" if proto.multi_label else "single-label"
        raise DataError(f"protocol {proto.name!r} is for {kind} data but the dataset is not")
    labels = np.asarray(dataset.labels)
    n = labels.shape[0]
    rng = np.random.default_rng(seed)
    taken = np.zeros(n, dtype=bool)
    query = np.concatenate(_draw(labels, taken, proto.query_per_class, rng,
                                 dataset.class_names, "query", proto.name)).astype(np.int64)
    labelled = _draw(labels, taken, proto.labelled_per_class, rng, dataset.class_names,
                     "labelled", proto.name)
    v = proto.validation_per_class
    validation = np.concatenate([d[:v] for d in labelled])
    train = np.concatenate([d[v:] for d in labelled])
    in_query = np.zeros(n, dtype=bool)
    in_query[query] = True
    has_label = labels.any(axis=1)
    if proto.labelled_in_database:
        database = np.flatnonzero(~in_query & has_label)
    else:
        database = np.flatnonzero(~taken & has_label)
    unlabelled = np.setdiff1d(np.union1d(database, np.flatnonzero(~has_label)), validation)
    return Split(np.sort(query).astype(np.int64), np.sort(train).astype(np.int64),
                 np.sort(validation).astype(np.int64), database.astype(np.int64),
                 unlabelled.astype(np.int64), proto.name, int(seed), proto.topk)
