"""Typed, frozen run configuration. YAML files override the defaults; the resolved config is
saved next to every result so a number can always be traced to the settings that made it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class DataConfig:
    source: str | None = None  # image folder/archive, CIFAR-10 python archive; None = bundled sample
    list_dir: str | None = None  # folder with list files (NUS-WIDE style), images under image_root
    image_root: str | None = None
    split_dir: str | None = None  # a split written by `dshgan data prepare`, used as it is
    # A registered protocol name (cifar10, nuswide21, demo, ...), or "auto": per-class counts
    # sized from the smallest labelled class (data/split_sizes.py). The per-class fields below
    # override the named protocol's values; an int is a count, a float in (0, 1) a share of
    # each class's labelled images. query_per_class 0 trains without test queries (train-only).
    protocol: str = "demo"
    query_per_class: int | float | None = None
    labelled_per_class: int | float | None = None
    validation_per_class: int | float | None = None
    labelled_in_database: bool | None = None
    topk: int | None = None  # mAP cut-off; None keeps the protocol's
    # Size (px) real images are decoded at for the hashing net; "auto": the trunk's input size,
    # so a photo keeps the detail the trunk sees. The GAN has its own size (gan.image_size).
    image_size: int | str = 32
    # Multi-label sets: keep the N most frequent concepts, drop images left with none.
    top_concepts: int | None = None
    # An image that cannot be decoded: "skip" it (counted, listed in the run's bad_images.txt)
    # or "fail" at once; a run stops when more than max_bad_fraction of the images are bad.
    on_bad_image: str = "skip"
    max_bad_fraction: float = 0.05
    loader_workers: int | None = None  # decoding processes; None: one per CPU core


@dataclass(frozen=True)
class GANConfig:
    """Stage 1: the semi-supervised conditional GAN."""

    steps: int = 1500
    batch_size: int = 64
    # Size (px) of the generator's images (4 * 2^k); None: data.image_size when that is a
    # number, else 32. Synthetic images are resized to the real images' size for stage 2.
    image_size: int | None = None
    noise_dim: int = 100
    width: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    classification_weight: float = 1.0
    # The real/synthetic loss: "bce" (the paper's, non-saturating for G) or "hinge".
    loss: str = "bce"
    # DiffAugment policy for D's inputs, e.g. "translation,cutout" (train/diff_augment.py);
    # "" for none. Options of the GAN literature for few images, not the paper's.
    diff_augment: str = ""
    # Further opt-in options of the GAN literature, not the paper's; each default keeps the
    # stage 1 described above (a DCGAN-style G and D, one learning rate, one class weight).
    # > 0: stage 1 hands on an exponential moving average of G's weights with this decay per
    # G step, e.g. 0.999 (train/weight_average.py); 0: G itself.
    ema_decay: float = 0.0
    # G's doublings: "transposed" (4x4 stride-2 transposed convs) or "resize" (nearest x2 then a
    # 3x3 conv, no checkerboard artefacts) (nets/generator.py).
    upsample: str = "transposed"
    # How the label enters G: "concat" (an embedding beside the noise) or "batchnorm"
    # (conditional batch norm in every block, noise alone into the projection).
    conditioning: str = "concat"
    # D's Adam learning rate (two time-scale update rule); None: lr.
    lr_d: float | None = None
    # Weight of G's classification term; None: classification_weight. Lower it when G's term
    # pushes towards easily classified, alike images.
    generator_classification_weight: float | None = None
    # "dcgan" (nets/discriminator.py), "sngan" (SN-GAN's standard CNN,
    # nets/sngan_discriminator.py) or "projected" (small heads on frozen ImageNet
    # EfficientNet-Lite0 features, nets/projected_discriminator.py).
    discriminator: str = "dcgan"
    # The projected D's input size (px): images are resized to it before the frozen trunk, which
    # was trained on ImageNet at 224 px; larger sees more but costs more per step.
    feature_size: int = 64
    # true: D's real/synthetic logits are conditioned on the labels by a projection (Miyato and
    # Koyama, ICLR 2018; nets/class_projection.py), beside its class head; any discriminator.
    class_projection: bool = False
    # > 0: TAC-GAN's twin classifier (Gong et al., NeurIPS 2019; nets/twin_classifier.py): D also
    # learns the synthetic images' asked labels (weighted as its class term), and G maximises
    # that classifier's loss times this weight, against AC's pull towards one image per class.
    twin_classifier_weight: float = 0.0
    # > 0: G also minimises this weight times MSGAN's mode-seeking term (losses/mode_seeking.py):
    # the synthetic batch comes in two halves asked for the same labels, and images of the same
    # labels must differ as their noise does. 0: off (labels drawn as above).
    mode_seeking_weight: float = 0.0


@dataclass(frozen=True)
class HashingConfig:
    """Stage 2: the three-stream hashing net trained jointly with the generator."""

    backbone: str = "small-cnn"
    backbone_kwargs: dict = field(default_factory=dict)
    bits: tuple[int, ...] = (12, 24, 32, 48)
    shared_trunk: bool = True  # one trunk with a head per code length, or one net per length
    epochs: int = 12
    batch_size: int = 64
    lr: float = 1e-3
    # The pretrained trunk's peak LR is lr * backbone_lr_scale (heads keep lr): a gentler step for
    # ImageNet weights than for fresh heads, the usual discriminative fine-tuning (ours).
    backbone_lr_scale: float = 1.0
    weight_decay: float = 5e-4
    generator_lr: float = 5e-5
    margin: float = 1.0
    triplet_weight: float = 1.0
    adversarial_weight: float = 1.0
    classification_weight: float = 1.0
    generator_adversarial: str = "non-saturating"
    augment: bool = True
    # > 0: the trunk's frozen part runs once on this many augmented views of each labelled image
    # and triplets draw from those (ours; train/prefix_cache.py); needs real triplets and a
    # backbone with frozen blocks. 0: every use of an image is augmented and run afresh.
    cached_views: int = 0
    # "weak": translation and flip; "strong" adds colour jitter and cutout (train/consistency.py's
    # strong_augment) to every labelled image of a triplet.
    labelled_augment: str = "weak"
    # Weights validated, kept and evaluated: 0 the raw ones; else an exponential moving average
    # with this decay per step (ours; train/weight_average.py). Off by default: it did not beat
    # the raw weights on validation (docs/experiments/2026-11-29-cifar10-plus-levers.md).
    weight_average_decay: float = 0.0
    # Ablation switches.
    use_synthetic: bool = True  # False: triplets of real labelled images only
    use_adversary_stream: bool = True
    use_classification_stream: bool = True
    freeze_generator: bool = False
    # Self-training (ours, beyond the paper; train/self_training.py): rounds after stage 2 in
    # which confident predictions on the unlabelled pool join the labelled set.
    self_training_rounds: int = 0
    self_training_epochs: int = 2
    pseudo_label_threshold: float = 0.9
    pseudo_labels_per_class: int | None = 2000
    self_training_lr: float | None = None  # peak LR of a round's one-cycle; None: same as lr
    # Consistency on the unlabelled pool (ours; train/consistency.py): each stage-2 step also
    # takes a batch of unlabelled images; confident weak-view predictions teach a strong view.
    consistency_weight: float = 0.0  # 0: off
    consistency_batch_size: int = 32
    consistency_threshold: float = 0.95


@dataclass(frozen=True)
class EvalConfig:
    baselines: tuple[str, ...] = ("lsh", "itq")
    deep_baselines: tuple[str, ...] = ()  # "dpsh", "dtsh": trained like DSH-GAN (reproduce only)
    baseline_features: str = "pixels"  # "pixels" or "backbone" (pretrained trunk features)
    precision_at_n: tuple[int, ...] = (10, 50, 100, 200, 500, 1000)
    # GAN-test, GAN-train, FID and diversity of the stage-1 generator in every run that trains
    # one (metrics/generative); off in --dry-run, where its probe would outlast the run.
    generator_metrics: bool = True


@dataclass(frozen=True)
class RunConfig:
    name: str = "run"
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    data: DataConfig = field(default_factory=DataConfig)
    gan: GANConfig = field(default_factory=GANConfig)
    hashing: HashingConfig = field(default_factory=HashingConfig)
    evaluation: EvalConfig = field(default_factory=EvalConfig)


class ConfigError(ValueError):
    """A config file or override that does not fit the schema; the message names the source."""


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    kwargs = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, f"{where}.{name}")
        elif isinstance(default, tuple):
            kwargs[name] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _without_other_backbones_kwargs(file_values: dict, overrides: dict) -> dict:
    """The file's values less its ``hashing.backbone_kwargs`` when the overrides name another
    backbone: those arguments belong to the file's backbone (``--set hashing.backbone=small-cnn``
    on a config made for a pretrained trunk must not pass it ``trainable_blocks``)."""
    asked = (overrides.get("hashing") or {}).get("backbone")
    hashing = file_values.get("hashing")
    if asked is None or not isinstance(hashing, dict) or hashing.get("backbone") == asked:
        return file_values
    return {**file_values, "hashing": {k: v for k, v in hashing.items() if k != "backbone_kwargs"}}


def load_config(path: str | Path | None = None, overrides: dict | None = None,
                overrides_label: str = "--set/overrides") -> RunConfig:
    """Defaults, then the YAML file (a path, or the name of a bundled config), then overrides;
    every value is checked here (config_checks.py) so a bad one stops the run before it starts.
    ``overrides_label`` names the overrides' source in error messages."""
    from dshgan.config_checks import check_config, sources

    file_values: dict = {}
    where = "defaults"
    if path is not None:
        text, where = _read_config_text(path)
        try:
            file_values = yaml.safe_load(text) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{where}: not valid YAML: {err}") from err
    values = file_values
    if overrides and isinstance(file_values, dict):
        values = _merge(_without_other_backbones_kwargs(file_values, overrides), overrides)
    config = _build(RunConfig, values, where)
    return check_config(config, sources(file_values, overrides, where, overrides_label))


def _read_config_text(path: str | Path) -> tuple[str, str]:
    p = Path(path)
    if p.exists():
        return p.read_text(), str(p)
    bundled = resources.files("dshgan") / "configs" / f"{path}.yaml"
    if bundled.is_file():
        return bundled.read_text(), f"bundled config {path!r}"
    names = sorted(f.name[:-5] for f in (resources.files("dshgan") / "configs").iterdir()
                   if f.name.endswith(".yaml"))
    raise ConfigError(f"config {str(path)!r} is neither a file nor a bundled config {names}")


def config_to_dict(config: RunConfig) -> dict:
    """Plain dict (tuples as lists) for YAML/JSON."""

    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def save_config(config: RunConfig, path: str | Path) -> None:
    from dshgan.io_utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
