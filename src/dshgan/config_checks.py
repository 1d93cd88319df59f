"""Up-front checks of a built RunConfig: a bad value is refused by name before anything runs,
not found by a traceback deep in training (or, worse, by a run that trains nothing).

Types come from the dataclass annotations; the one conversion is int -> float (YAML writes
``lr: 1`` for 1.0). Ranges and names come from ``_rules``. Registries (backbones, baselines,
protocols) are imported inside the check so ``import dshgan.config`` stays light.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any

# Mirrors dshgan.train.deep_baseline.DEEP_BASELINES (a test keeps them equal); importing it here
# would pull the whole training package into every config load.
DEEP_BASELINES = ("dpsh", "dtsh")
# dshgan.losses.adversarial.generator_loss's modes.
GENERATOR_LOSSES = ("non-saturating", "minimax")
# dshgan.nets.generator's UPSAMPLING and CONDITIONING, dshgan.train.gan_state's DISCRIMINATORS
# (a test keeps them equal; the nets import torch).
GAN_UPSAMPLING = ("transposed", "resize")
GAN_CONDITIONING = ("concat", "batchnorm")
GAN_DISCRIMINATORS = ("dcgan", "sngan", "projected")

Rule = tuple[str, Callable[[Any], bool]]


class _Mismatch(Exception):
    """The value does not have the annotated type."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` as type ``hint``, or _Mismatch. Only an int becomes a float; bools never count
    as numbers, strings never as anything but strings."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        arms = typing.get_args(hint)
        if value is None:
            if type(None) in arms:
                return None
            raise _Mismatch
        arms = [a for a in arms if a is not type(None)]
        for arm in arms:  # an exact match first, so an int stays an int in ``int | float``
            if arm in (int, float, str, bool) and _exact(value, arm):
                return value
        for arm in arms:
            try:
                return _coerce(value, arm)
            except _Mismatch:
                pass
        raise _Mismatch
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, (tuple, list)):
            raise _Mismatch
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return tuple(_coerce(v, item) for v in value)
    if hint is dict or typing.get_origin(hint) is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise _Mismatch
        return value
    if hint is float:
        if _is_int(value):
            try:
                value = float(value)
            except OverflowError:
                raise _Mismatch from None
        if not isinstance(value, float) or not math.isfinite(value):
            raise _Mismatch
        return value
    if hint in (int, str, bool) and _exact(value, hint):
        return value
    raise _Mismatch


def _exact(value: Any, hint: type) -> bool:
    if hint is int:
        return _is_int(value)
    if hint is float:
        return isinstance(value, float) and math.isfinite(value)
    return isinstance(value, hint)


def _type_words(hint: Any) -> str:
    """What a hint accepts, in words, for fields without a rule of their own."""
    words = {bool: "true or false", str: "a string", int: "an int", float: "a number",
             dict: "a mapping", type(None): "None"}
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return " or ".join(_type_words(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return f"a list of {_type_words(typing.get_args(hint)[0])}s"
    return words.get(hint, str(hint))


def _number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
            hi_open: bool = False, kind: str = "a number") -> Rule:
    parts = []
    if lo is not None and hi is not None:
        parts.append(f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}")
    elif lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")

    def ok(v: float) -> bool:
        return ((lo is None or (v > lo if lo_open else v >= lo))
                and (hi is None or (v < hi if hi_open else v <= hi)))

    return f"{kind} {' '.join(parts)}".strip(), ok


def _count(lo: int) -> Rule:
    return _number(lo, kind="an int")


def _one_of(names: list[str] | tuple[str, ...], what: str = "one of") -> Rule:
    return f"{what} {', '.join(map(repr, names))}", lambda v: v in names


def _per_class(lo: int) -> Rule:
    """A count (int >= lo) or a share of each class's labelled images (float in (0, 1))."""
    return (f"an int >= {lo} or a share in (0, 1)",
            lambda v: v >= lo if _is_int(v) else 0 < v < 1)


def _generator_size(v: int) -> bool:
    """The generator doubles from 4 px (nets/generator.py): 4 * 2^k, k >= 1."""
    return v >= 8 and v % 4 == 0 and (v // 4) & (v // 4 - 1) == 0


def _diff_augment_policy(v: str) -> bool:
    from dshgan.train.diff_augment import parse_policy  # torch: imported only when checked

    try:
        parse_policy(v)
    except ValueError:
        return False
    return True


def _codes(each: str) -> Rule:
    return (f"a non-empty list of distinct ints >= 1 ({each})",
            lambda v: len(v) > 0 and all(n >= 1 for n in v) and len(set(v)) == len(v))


def _rules() -> dict[str, Rule]:
    """Path -> (what is allowed, test on the typed value). Built per check: registries can grow."""
    from dshgan.baselines import list_baselines
    from dshgan.data.protocols import list_protocols
    from dshgan.nets.registry import list_backbones

    positive, non_negative = _number(0, lo_open=True), _number(0)
    share = _number(0, 1, lo_open=True)  # thresholds: (0, 1]
    decay = _number(0, 1, hi_open=True)  # [0, 1)
    path = ("a non-empty path", lambda v: v != "")
    baselines = list_baselines()
    return {
        "name": ("a non-empty name without '/' or '\\'",
                 lambda v: v.strip() not in ("", ".", "..") and not re.search(r"[/\\]", v)),
        "seed": _count(0),
        "device": ("'auto', 'cpu', 'cuda' or 'cuda:N'",
                   lambda v: re.fullmatch(r"auto|cpu|cuda(:\d+)?", v) is not None),
        "num_threads": _count(1),
        "data.source": path,
        "data.list_dir": path,
        "data.image_root": path,
        "data.protocol": _one_of(["auto", *list_protocols()]),
        "data.query_per_class": _per_class(0),
        "data.labelled_per_class": _per_class(1),
        "data.validation_per_class": _per_class(0),
        "data.topk": _count(1),
        "data.image_size": ("an int >= 8 or 'auto'", lambda v: v == "auto" if isinstance(v, str)
                            else v >= 8),
        "data.top_concepts": _count(1),
        "data.on_bad_image": _one_of(("skip", "fail")),
        "data.max_bad_fraction": _number(0, 1),
        "data.loader_workers": _count(0),
        "gan.steps": _count(1),
        "gan.batch_size": _count(1),
        "gan.image_size": ("an int 4 * 2^k >= 8 (8, 16, 32, 64, ...)", _generator_size),
        "gan.noise_dim": _count(1),
        "gan.width": _count(1),
        "gan.lr": positive,
        "gan.beta1": decay,
        "gan.classification_weight": non_negative,
        "gan.loss": _one_of(("bce", "hinge")),
        "gan.diff_augment": ("a comma-separated list of color, translation, cutout (or '')",
                             _diff_augment_policy),
        "gan.ema_decay": decay,
        "gan.upsample": _one_of(GAN_UPSAMPLING),
        "gan.conditioning": _one_of(GAN_CONDITIONING),
        "gan.lr_d": positive,
        "gan.generator_classification_weight": non_negative,
        "gan.twin_classifier_weight": non_negative,
        "gan.mode_seeking_weight": non_negative,
        "gan.discriminator": _one_of(GAN_DISCRIMINATORS),
        "gan.feature_size": ("a multiple of 32 (px)", lambda v: v >= 32 and v % 32 == 0),
        "hashing.backbone": _one_of(list_backbones(), "a registered backbone:"),
        "hashing.bits": _codes("code lengths"),
        "hashing.epochs": _count(1),
        "hashing.batch_size": _count(1),
        "hashing.lr": positive,
        "hashing.backbone_lr_scale": non_negative,
        "hashing.weight_decay": non_negative,
        "hashing.generator_lr": positive,
        "hashing.margin": non_negative,
        "hashing.triplet_weight": non_negative,
        "hashing.adversarial_weight": non_negative,
        "hashing.classification_weight": non_negative,
        "hashing.generator_adversarial": _one_of(GENERATOR_LOSSES),
        "hashing.cached_views": _count(0),
        "hashing.labelled_augment": _one_of(("weak", "strong")),
        "hashing.weight_average_decay": decay,
        "hashing.self_training_rounds": _count(0),
        "hashing.self_training_epochs": _count(1),
        "hashing.pseudo_label_threshold": share,
        "hashing.pseudo_labels_per_class": _count(1),
        "hashing.self_training_lr": positive,
        "hashing.consistency_weight": non_negative,
        "hashing.consistency_batch_size": _count(1),
        "hashing.consistency_threshold": share,
        "evaluation.baselines": (f"a list of distinct registered baselines ({', '.join(baselines)})",
                                 lambda v: all(b in baselines for b in v)
                                 and len(set(v)) == len(v)),
        "evaluation.deep_baselines": (f"a list of distinct names from {', '.join(DEEP_BASELINES)}",
                                      lambda v: all(b in DEEP_BASELINES for b in v)
                                      and len(set(v)) == len(v)),
        "evaluation.baseline_features": _one_of(("pixels", "backbone")),
        "evaluation.precision_at_n": _codes("the n of precision@n"),
    }


def show(value: Any) -> str:
    """A value as the user wrote it (lists, not tuples), cut short, with its YAML-ish type."""
    def plain(v: Any) -> Any:
        return [plain(x) for x in v] if isinstance(v, (list, tuple)) else v

    text = repr(plain(value))
    if len(text) > 60:
        text = f"{text[:50]}... ({len(text)} characters)"
    kind = "list" if isinstance(value, (list, tuple)) else type(value).__name__
    return f"{text} ({kind})"


def sources(file_values: dict, overrides: dict | None, file_label: str,
            overrides_label: str) -> Callable[[str], str]:
    """Where a key path's value came from: the overrides, the file, or the defaults."""
    def has(tree: Any, keys: list[str]) -> bool:
        for key in keys:
            if not isinstance(tree, dict) or key not in tree:
                return False
            tree = tree[key]
        return True

    def origin(path: str) -> str:
        keys = path.split(".")
        if has(overrides or {}, keys):
            return overrides_label
        return file_label if has(file_values, keys) else "defaults"

    return origin


def check_config(config: Any, origin: Callable[[str], str] = lambda path: "config") -> Any:
    """The config with every field checked (int -> float where a float is declared), or a
    ConfigError listing each bad value with its key path, what is allowed and its source."""
    from dshgan.config import ConfigError

    rules = _rules()
    problems: list[str] = []

    def refuse(path: str, allowed: str, value: Any) -> None:
        problems.append(f"{origin(path)}: {path}: expected {allowed}, got {show(value)}")

    def walk(obj: Any, prefix: str) -> Any:
        hints = typing.get_type_hints(type(obj))
        values = {}
        for f in dataclasses.fields(obj):
            path, value, hint = f"{prefix}{f.name}", getattr(obj, f.name), hints[f.name]
            if dataclasses.is_dataclass(value):
                values[f.name] = walk(value, f"{path}.")
                continue
            allowed, ok = rules.get(path, (_type_words(hint), lambda v: True))
            if type(None) in typing.get_args(hint) and not allowed.startswith("None"):
                allowed = f"None or {allowed}"
            try:
                typed = _coerce(value, hint)
            except _Mismatch:
                refuse(path, allowed, value)
                continue
            if typed is not None and not ok(typed):
                refuse(path, allowed, value)
            values[f.name] = typed
        return dataclasses.replace(obj, **values)

    checked = walk(config, "")
    if not problems:
        problems = _cross_checks(checked, origin)
    if problems:
        raise ConfigError("\n".join(problems))
    return checked


def _cross_checks(config: Any, origin: Callable[[str], str]) -> list[str]:
    """Checks between fields, run once every field is valid on its own."""
    from dshgan.data.protocols import get_protocol

    problems = []
    data, gan = config.data, config.gan
    if (gan.image_size is None and _is_int(data.image_size) and config.hashing.use_synthetic
            and not _generator_size(data.image_size)):
        problems.append(
            f"{origin('data.image_size')}: data.image_size: {show(data.image_size)} is also the "
            "GAN's size while gan.image_size is None and hashing.use_synthetic is true, but the "
            "generator makes 4 * 2^k px (8, 16, 32, 64, ...); set gan.image_size")
    labelled, validation = data.labelled_per_class, data.validation_per_class
    if data.protocol != "auto":  # the named protocol fills in what is not given
        protocol = get_protocol(data.protocol)
        labelled = protocol.labelled_per_class if labelled is None else labelled
        validation = protocol.validation_per_class if validation is None else validation
    if _is_int(labelled) and _is_int(validation) and validation >= labelled:
        problems.append(
            f"{origin('data.validation_per_class')}: data.validation_per_class: expected fewer "
            f"than the {labelled} labelled images per class, got {show(validation)}")
    return problems
