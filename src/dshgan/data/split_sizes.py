"""The split a run uses: a registered protocol, with per-class counts from the config, or sized
automatically from the smallest labelled class.

Why: a user's collection is not CIFAR-10. Its smallest class decides how many queries and
labelled images every class can give, so "auto" sizes from it and says what it chose; explicit
counts (or shares, a float in (0, 1) of the smallest class) override any protocol's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dshgan.data.errors import DataError
from dshgan.data.protocols import Protocol, get_protocol

AUTO_QUERY_SHARE = 0.2  # of the smallest class, at most AUTO_MAX_QUERY
AUTO_MAX_QUERY = 100
AUTO_VALIDATION_SHARE = 0.1  # of the labelled images per class, at least 1
PER_CLASS = ("query_per_class", "labelled_per_class", "validation_per_class")


def _count(value: float, smallest: int, key: str) -> int:
    if isinstance(value, float) and not value.is_integer():
        if not 0 < value < 1:
            raise DataError(f"data.{key}: a share must be in (0, 1), got {value}")
        return max(1, int(value * smallest))
    return int(value)


def _auto(smallest: int) -> dict:
    if smallest < 3:
        raise DataError(f"the smallest class has {smallest} labelled images; an automatic split "
                        "needs at least 3 (a query, a training and a validation image)")
    query = min(AUTO_MAX_QUERY, max(1, round(AUTO_QUERY_SHARE * smallest)))
    labelled = smallest - query
    validation = min(labelled - 1, max(1, round(AUTO_VALIDATION_SHARE * labelled)))
    return {"query_per_class": query, "labelled_per_class": labelled,
            "validation_per_class": validation}


def resolve_protocol(name: str, labels: np.ndarray, class_names: list[str],
                     multi_label: bool, overrides: dict | None = None) -> tuple[Protocol, str]:
    """(protocol, one sentence for the run's log saying what was chosen and why).

    ``overrides``: any of query_per_class, labelled_per_class, validation_per_class (int count,
    or float share of the smallest class), labelled_in_database, topk; None values are ignored.
    """
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    counts = labels.sum(axis=0, dtype=np.int64)
    smallest_at = int(np.argmin(counts)) if len(counts) else 0
    smallest = int(counts[smallest_at]) if len(counts) else 0
    if name == "auto":
        in_db = bool(given.get("labelled_in_database", True))
        base = Protocol("auto", **_auto(smallest), labelled_in_database=in_db, topk=None,
                        multi_label=multi_label, description="sized from the smallest class")
        why = (f"automatic split sized from the smallest class {class_names[smallest_at]!r} "
               f"({smallest} labelled images)")
    else:
        base = get_protocol(name)
        why = f"protocol {name!r}"
    if not given:
        return base, f"{why}: {_describe(base)}"
    changes = {k: _count(given[k], smallest, k) for k in PER_CLASS if k in given}
    for key in ("labelled_in_database", "topk"):
        if key in given:
            changes[key] = given[key]
    if "labelled_per_class" in changes and "validation_per_class" not in changes:
        labelled = changes["labelled_per_class"]
        changes["validation_per_class"] = min(base.validation_per_class, max(0, labelled - 1))
    try:
        proto = dataclasses.replace(base, name=f"{base.name}+custom", **changes)
    except ValueError as err:
        raise DataError(f"split from the config: {err}") from err
    return proto, f"{why} with {changes} from the config: {_describe(proto)}"


def _describe(p: Protocol) -> str:
    where = "inside" if p.labelled_in_database else "outside"
    queries = f"{p.query_per_class} queries" if p.query_per_class else "no test queries"
    return (f"{queries}, {p.labelled_per_class} labelled ({p.validation_per_class} of them "
            f"validation) per class, labelled images {where} the database, "
            f"mAP over {'top ' + str(p.topk) if p.topk else 'the whole database'}")
