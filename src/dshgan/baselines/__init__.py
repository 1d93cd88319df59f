"""Shallow hashing baselines behind one interface: LSH, PCAH, ITQ, SH (unsupervised), SDH.

``create_baseline("itq", bits=32).fit(train_features).encode(features)`` gives {0,1} codes
(n, bits) ready for the index and the metrics.
"""

from dshgan.baselines.base import (
    HashingBaseline,
    create_baseline,
    list_baselines,
    register_baseline,
)

__all__ = ["HashingBaseline", "create_baseline", "list_baselines", "register_baseline"]
