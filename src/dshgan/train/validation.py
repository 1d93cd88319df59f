"""Validation mAP of a hashing net: against a database, and leave-one-out among the
validation images themselves. Stage 2 and the deep baselines pick their epoch with it."""

from __future__ import annotations

import numpy as np

from dshgan.nets.hashing_net import HashingNet
from dshgan.train.encoding import FrozenPartOutputs, encode_images


def _map_against(q: dict, q_labels, db: dict, db_labels) -> dict[int, float]:
    from dshgan.metrics import mean_average_precision

    return {b: float(mean_average_precision(q[b], q_labels, db[b], db_labels)) for b in q}


def _leave_one_out_map(codes: dict, labels) -> dict[int, float]:
    from dshgan.metrics import leave_one_out_average_precisions

    if len(labels) < 2:  # nothing to rank against
        return {b: 0.0 for b in codes}
    return {b: float(np.mean(leave_one_out_average_precisions(c, labels)))
            for b, c in codes.items()}


def validation_map(
    net: HashingNet, train_images, train_labels, val_images, val_labels, device
) -> dict[int, float]:
    """mAP of validation images as queries against the labelled training set as database."""
    return _map_against(encode_images(net, val_images, device), val_labels,
                        encode_images(net, train_images, device), train_labels)


def validation_map_leave_one_out(net: HashingNet, val_images, val_labels, device
                                 ) -> dict[int, float]:
    """mAP of each validation image against the other validation images only.

    Why: against the training images (``validation_map``) the score rewards memorising them and
    saturates; against each other the images are all unseen, as in the test protocol, so this is
    the view to compare configurations (input size, epochs) with. Logged, not used to pick epochs.
    """
    return _leave_one_out_map(encode_images(net, val_images, device), val_labels)


def validation_maps(net: HashingNet, db_images, db_labels, val_images, val_labels, device
                    ) -> tuple[dict[int, float], dict[int, float]]:
    """Both views (against ``db``, and leave-one-out) from one encoding of the validation images."""
    return _both_views(encode_images(net, val_images, device), val_labels,
                       encode_images(net, db_images, device), db_labels)


def _both_views(q: dict, q_labels, db: dict, db_labels
                ) -> tuple[dict[int, float], dict[int, float]]:
    return _map_against(q, q_labels, db, db_labels), _leave_one_out_map(q, q_labels)


class ValidationPass:
    """``validation_maps`` epoch after epoch on the same images, which are not augmented, so
    the trunk's frozen part runs on them once (``FrozenPartOutputs``; the same numbers, and
    about a quarter of the cost from the second pass on, ``benchmarks/bench_validation_pass.py``).
    """

    def __init__(self, db_images, db_labels, val_images, val_labels):
        self.db, self.db_labels = FrozenPartOutputs(db_images), db_labels
        self.val, self.val_labels = FrozenPartOutputs(val_images), val_labels

    def __call__(self, net: HashingNet, device) -> tuple[dict[int, float], dict[int, float]]:
        if not len(self.val_labels):
            return {b: 0.0 for b in net.bits}, {b: 0.0 for b in net.bits}
        return _both_views(self.val.codes(net, device), self.val_labels,
                           self.db.codes(net, device), self.db_labels)

    def leave_one_out(self, net: HashingNet, device) -> dict[int, float]:
        return _leave_one_out_map(self.val.codes(net, device), self.val_labels)
