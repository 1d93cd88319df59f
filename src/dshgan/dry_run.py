"""``--dry-run``: the whole path on tiny made-up images in seconds (after the PyTorch DCGAN
example's ``--dry-run``), so CI proves every stage connects without real data or real budgets.
"""

from __future__ import annotations

from dshgan.config import RunConfig
from dshgan.experiment import replace_config

TINY = {
    "gan": {"steps": 3, "batch_size": 8, "width": 8},
    "hashing": {"backbone": "small-cnn", "backbone_kwargs": {"width": 4}, "epochs": 1,
                "batch_size": 8},
    "evaluation": {"baseline_features": "pixels", "precision_at_n": (5, 10),
                   "generator_metrics": False},
}


def dry_run_protocol(multi_label: bool = False):
    from dshgan.data.protocols import Protocol

    return Protocol(name="dry-run", query_per_class=2, labelled_per_class=5,
                    validation_per_class=1, labelled_in_database=False, topk=None,
                    multi_label=multi_label, description="tiny split for --dry-run")


def dry_run_setup(config: RunConfig, multi_label: bool = False):
    """(tiny config, toy dataset, tiny protocol) replacing the real ones."""
    from dshgan.data.toy import make_toy_dataset

    # 30 per class leaves a database larger than 48 bits + 1, which PCA-based baselines need.
    dataset = make_toy_dataset(n_per_class=30, num_classes=4, image_size=32, seed=config.seed)
    return replace_config(config, **TINY), dataset, dry_run_protocol(multi_label)
