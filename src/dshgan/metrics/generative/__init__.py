"""How good is the stage-1 generator: GAN-test, GAN-train, FID (with a real-vs-real scale) and
intra-class diversity, on frozen pretrained features; and a second GAN-test whose classifier is
a small CNN trained from scratch on pixels (``pixel_probe.py``), independent of those features.

Unlike the rest of ``metrics`` this subpackage loads torch and sits above ``nets`` and ``data``
in the import flow (it measures a net on images): nothing below it imports it, and
``import dshgan.metrics`` does not load it.
"""

from dshgan.metrics.generative.class_scores import (
    accuracy_per_class,
    ap_per_concept,
    average_precision,
)
from dshgan.metrics.generative.diversity import diversity_ratio, mean_pairwise_distance
from dshgan.metrics.generative.evaluate import (
    DEFAULT_PER_CLASS,
    evaluate_generator,
    generator_report,
    report_per_class,
)
from dshgan.metrics.generative.features import TrunkFeatures, default_trunk
from dshgan.metrics.generative.frechet import fid, frechet_distance, gaussian_fit
from dshgan.metrics.generative.pixel_probe import (
    PixelClassifier,
    pixel_gan_test,
    pixel_scores,
    train_pixel_classifier,
)
from dshgan.metrics.generative.probe import LinearProbe
from dshgan.metrics.generative.sampling import generate_images, labels_per_class
from dshgan.metrics.generative.table import report_lines

__all__ = [
    "DEFAULT_PER_CLASS", "LinearProbe", "PixelClassifier", "TrunkFeatures", "accuracy_per_class",
    "ap_per_concept", "average_precision", "default_trunk", "diversity_ratio",
    "evaluate_generator", "fid", "frechet_distance", "gaussian_fit", "generate_images",
    "generator_report", "labels_per_class", "mean_pairwise_distance", "pixel_gan_test",
    "pixel_scores", "report_lines", "report_per_class", "train_pixel_classifier",
]
