"""``dshgan reproduce``: the paper's table under one protocol, resumable unit by unit.

Work is cut into units (stage 1 per seed; DSH-GAN per seed and code length; each ablation; each
baseline). A unit writes ``<unit>.json`` atomically when it ends, and a rerun skips finished
units; training inside a unit resumes from its checkpoint. So the same command, killed at any
point, continues where it stopped. Queries are touched only when a unit is evaluated at its end;
epochs are chosen on the validation split.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from dshgan.config import RunConfig, load_config, save_config
from dshgan.data.dataset import ImageDataset
from dshgan.data.images import resize_images
from dshgan.experiment import (
    REAL_TRIPLETS,
    _save_model,
    baseline_codes,
    baseline_features,
    draw_split,
    image_sizes,
    load_data,
    main_method_name,
    replace_config,
)
from dshgan.io_utils import atomic_write_text
from dshgan.paper_results import CIFAR10, PAPER_TABLES
from dshgan.run_data import RunData, StreamedPart
from dshgan.train.distributed import (
    barrier,
    from_main,
    is_main,
    rank_device,
    rank_seed,
    training_group,
)
from dshgan.train.encoding import FrozenPartOutputs
from dshgan.train.hashing_data import HashingData
from dshgan.train.runtime import (
    limit_threads,
    logger,
    resolve_device,
    seed_everything,
    setup_logging,
)
from dshgan.train.self_training import self_train
from dshgan.train.stage1_gan import train_gan
from dshgan.train.stage2_hashing import train_hashing
from dshgan.train.training_clock import round_seconds

# Cheapest first (no gradient through the trunk into G), so a run stopped early has most rows.
ABLATIONS = {
    "w/o synthetic images": {"use_synthetic": False},
    "generator frozen": {"freeze_generator": True},
    "w/o adversary stream": {"use_adversary_stream": False},
    "w/o classification stream": {"use_classification_stream": False},
}


QUICK = {
    "gan": {"steps": 30, "batch_size": 32, "width": 16},
    "hashing": {"backbone": "small-cnn", "backbone_kwargs": {"width": 16}, "epochs": 1},
    "evaluation": {"baseline_features": "pixels"},
}


def quick_config(config: RunConfig) -> RunConfig:
    """A smoke run: tiny GAN, one epoch of a small CNN, baselines on pixels."""
    return replace_config(config, **QUICK)


class Units:
    """Finished units of work, each stored as one JSON file."""

    def __init__(self, folder: Path):
        self.folder = folder
        if is_main():  # under torchrun, rank 0 writes; the others read after a barrier
            folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / f"{name.replace(' ', '_').replace('/', '-')}.json"

    def done(self, name: str) -> dict | None:
        p = self.path(name)
        return json.loads(p.read_text()) if p.exists() else None

    def finish(self, name: str, result: dict) -> dict:
        atomic_write_text(self.path(name), json.dumps(result, indent=1))
        return result


def reproduce(
    protocol_name: str,
    out_dir: str | Path,
    source: str | None = None,
    list_dir: str | None = None,
    image_root: str | None = None,
    seeds: tuple[int, ...] = (0,),
    bits: tuple[int, ...] = (12, 24, 32, 48),
    device: str = "auto",
    quick: bool = False,
    ablations: bool = True,
    baselines: bool = True,
    progress: bool = True,
    config: RunConfig | None = None,
    dataset=None,
    protocol=None,
    rows: tuple[str, ...] | None = None,
    validation_only: bool = False,
    baselines_every_seed: bool = False,
) -> dict:
    """Run (or continue) the whole table; returns the aggregated results dict.

    ``rows`` (method names as in the table, e.g. "generator frozen", "DPSH") limits what is
    trained in this invocation; rows finished earlier in ``out_dir`` are reported all the same.
    ``validation_only`` trains the main method's nets (checkpointed, validation logged) and stops
    there: no query or database image is encoded, no ablation, baseline or self-training round
    runs, and the empty dict is returned. Why: configurations are compared on validation
    (scripts/compare_validation.py) before the test queries are touched; the same command
    without it later resumes from the finished checkpoints and evaluates.
    ``baselines_every_seed`` trains and evaluates the baselines on every seed, not only the
    first: for a claim over seeds against a deep baseline (DPSH), which is then a mean over the
    same seeds as the method's; off by default since the deep ones cost a stage 2 each.

    Started by torchrun, every rank trains its share of each batch (train/distributed.py); rank
    0 alone evaluates and writes, the others wait for each unit's file before reading it.
    """
    out = Path(out_dir)
    config = _table_config(protocol_name, config, device, bits, source, list_dir, image_root,
                           quick)
    limit_threads()  # numba's count to torch's, or numba's kernels raise torch's (runtime.py)
    with training_group(config.device):
        if is_main():
            out.mkdir(parents=True, exist_ok=True)
            setup_logging(out)
            save_config(config, out / "config.yaml")
        t_start = time.perf_counter()
        sizes = image_sizes(config)
        if dataset is None:  # the same data path as `dshgan train` (experiment.py)
            dataset = load_data(config, sizes[0])
        if rows is not None:
            check_row_names(rows, config)
        asked = _Asked(config, out, dataset, protocol, tuple(seeds), tuple(bits), sizes,
                       rank_device(resolve_device(config.device)), ablations, baselines,
                       progress and is_main(), rows, validation_only, baselines_every_seed)
        units: dict[str, dict] = {}
        for seed in seeds:
            units.update(_reproduce_seed(asked, seed))
        if validation_only:
            logger.info("validation only: %s trained in %.1f min; compare runs with "
                        "scripts/compare_validation.py", out, (time.perf_counter() - t_start) / 60)
            return {}
        return from_main(lambda: _aggregate_and_write(units, protocol_name, config, out,
                                                      time.perf_counter() - t_start))


def _table_config(protocol_name: str, config: RunConfig | None, device: str,
                  bits: tuple[int, ...], source, list_dir, image_root, quick: bool) -> RunConfig:
    """The config the table trains with: the one given (or the protocol's bundled one), with
    the data the arguments name, cut to a smoke run with ``quick``."""
    config = config or load_config(protocol_name, {
        "device": device, "hashing": {"bits": list(bits)},
        "data": {"source": source, "list_dir": list_dir, "image_root": image_root}})
    given = {k: v for k, v in (("source", source), ("list_dir", list_dir),
                               ("image_root", image_root)) if v is not None}
    if given:  # the arguments name the data even when a config is passed in
        config = replace_config(config, data=given)
    return quick_config(config) if quick else config


def _aggregate_and_write(units: dict[str, dict], protocol_name: str, config: RunConfig,
                         out: Path, wall_s: float) -> dict:
    results = aggregate(units, protocol_name, config, wall_s)
    write_outputs(out, results)
    return results


@dataclasses.dataclass
class _Asked:
    """What one ``reproduce`` invocation asked for."""

    config: RunConfig
    out: Path
    dataset: object
    protocol: object
    seeds: tuple[int, ...]
    bits: tuple[int, ...]
    sizes: tuple[int, int]  # images in px: (hashing, GAN)
    device: torch.device
    ablations: bool
    baselines: bool
    progress: bool
    rows: tuple[str, ...] | None
    validation_only: bool
    baselines_every_seed: bool = False


@dataclasses.dataclass
class _Seed:
    """One seed's split, its images, its finished units and the stage-1 generator."""

    seed: int
    dir: Path
    done: Units
    rd: RunData
    data: _SplitData
    generator: object
    stage1_s: float
    main_nets: dict[int, tuple]  # bits -> (net, generator) of the main method


def _reproduce_seed(asked: _Asked, seed: int) -> dict[str, dict]:
    """Every unit of one seed: stage 1, the main method's groups, the ablations (first seed),
    model.pt, the baselines (first seed)."""
    from dshgan.data import write_split
    from dshgan.data.bad_images import BadImages

    config, dataset = asked.config, asked.dataset
    seed_everything(rank_seed(seed))
    seed_dir = asked.out / f"seed{seed}"
    done = Units(seed_dir / "results")
    split, why = draw_split(config, dataset, asked.protocol, seed)
    logger.info("seed %d: %s", seed, why)
    if is_main():
        write_split(split, dataset, seed_dir / "split")
    d = config.data
    bad = BadImages(len(dataset), d.on_bad_image, d.max_bad_fraction)
    rd = RunData(dataset, split, *asked.sizes, bad, d.loader_workers, asked.progress, seed)
    data = _SplitData(rd, config.evaluation.precision_at_n)
    run_ablations = asked.ablations and seed == asked.seeds[0] and not asked.validation_only
    groups = _groups(config, asked.bits, run_ablations)
    generator, stage1_s = None, 0.0  # seconds trained, every sitting together (None: unknown)
    # Real-triplet runs need no GAN, nor does a seed whose nets are all evaluated already (its
    # units carried from another machine, say): stage 1 is then not trained again.
    needs_gan = config.hashing.use_synthetic or run_ablations
    if needs_gan and any(_pending(asked, done, method, group_bits, switches)
                         for method, group_bits, switches in groups):
        generator, _, gan_history = train_gan(
            config.gan, rd.gan_train_images, data.train_y, rd.gan_unlabelled_images,
            rd.multi_label, asked.device, seed_dir / "stage1.pt", seed=seed,
            progress=asked.progress)
        stage1_s = gan_history["train_seconds"]
    this = _Seed(seed, seed_dir, done, rd, data, generator, stage1_s, {})
    units: dict[str, dict] = {}
    for method, group_bits, switches in groups:
        units.update(_group_units(asked, this, method, group_bits, switches))
    if this.main_nets and is_main():  # what `dshgan encode`, `index build` and the library load
        _save_model(seed_dir, {b: n for b, (n, _) in this.main_nets.items()},
                    next(iter(this.main_nets.values()))[1], config, rd)
    baselines_here = seed == asked.seeds[0] or asked.baselines_every_seed
    if asked.baselines and baselines_here and not asked.validation_only:
        for key, result in _run_baselines(config, dataset, data, asked.device, done, asked.bits,
                                          seed, asked.progress, asked.rows).items():
            units[f"{seed}/{key}"] = result
    if is_main():
        bad.write(seed_dir / "bad_images.txt")
    return units


def _groups(config: RunConfig, bits: tuple[int, ...], run_ablations: bool
            ) -> list[tuple[str, list[int], dict]]:
    """(row, code lengths, switches) of every net to train: a group is one code length, or all
    of them on a shared trunk; then the ablations at the longest length."""
    main = main_method_name(config.hashing)
    groups = ([(main, list(bits), {})] if config.hashing.shared_trunk
              else [(main, [b], {}) for b in bits])
    if run_ablations:
        # Ablations take the paper's method away piece by piece, so they run without our
        # self-training and compare with the "DSH-GAN w/o self-training" row.
        groups += [(name, [max(bits)], sw | {"self_training_rounds": 0})
                   for name, sw in ABLATIONS.items()]
    return groups


def _unit_names(asked: _Asked, method: str, group_bits: list[int], switches: dict
                ) -> tuple[RunConfig, dict[int, str], dict[int, str]]:
    """One group's config and unit names, after and (with self-training on) before it."""
    cfg = replace_config(asked.config, hashing=switches)
    names = {b: f"{method} {b}" for b in group_bits}
    # With self-training on, the net before it is a row of its own: the paper's method.
    plain_names = ({b: f"{method} w/o self-training {b}" for b in group_bits}
                   if cfg.hashing.self_training_rounds else {})
    return cfg, names, plain_names


def _pending(asked: _Asked, done: Units, method: str, group_bits: list[int],
             switches: dict) -> bool:
    """Whether this invocation trains the group: asked for, and a unit of it unfinished."""
    _, names, plain_names = _unit_names(asked, method, group_bits, switches)
    todo = [n for n in (*names.values(), *plain_names.values()) if done.done(n) is None]
    return bool(todo) and _asked(asked.rows, method)


def _group_units(asked: _Asked, this: _Seed, method: str, group_bits: list[int],
                 switches: dict) -> dict[str, dict]:
    """Train and evaluate one group when a unit of it is missing (and asked for); return its
    finished units."""
    cfg, names, plain_names = _unit_names(asked, method, group_bits, switches)
    if _pending(asked, this.done, method, group_bits, switches):
        _train_group(asked, this, cfg, method, group_bits, names, plain_names)
    units = {}
    for row, row_names in ((method, names), (f"{method} w/o self-training", plain_names)):
        for b, n in row_names.items():
            if (result := this.done.done(n)) is not None:
                units[f"{this.seed}/{n}"] = result | {"method": row, "bits": b,
                                                      "seed": this.seed}
    return units


def _train_group(asked: _Asked, this: _Seed, cfg: RunConfig, method: str,
                 group_bits: list[int], names: dict[int, str],
                 plain_names: dict[int, str]) -> None:
    """Stage 2 for one group, evaluated before and after self-training (its units written).
    ``train_s`` is the seconds the net trained, every sitting together (train/training_clock.py):
    a group resumed as finished reports what it cost, not the reload."""
    tag = f"{method.replace(' ', '_').replace('/', '')}_{'-'.join(map(str, group_bits))}"
    checkpoint = this.dir / "checkpoints" / f"{tag}.pt"
    g = copy.deepcopy(this.generator)
    rd, dev, progress = this.rd, asked.device, asked.progress
    labelled = HashingData(
        this.data.train_x, this.data.train_y, this.data.val_x, this.data.val_y, rd.multi_label,
        unlabelled=(rd.unlabelled_view() if cfg.hashing.consistency_weight > 0 else None))
    net, history = train_hashing(cfg.hashing, group_bits, labelled, g, dev, checkpoint,
                                 seed=this.seed, progress=progress)
    main = method == main_method_name(asked.config.hashing)
    if main:
        this.main_nets.update({b: (net, g) for b in group_bits})
    if asked.validation_only:
        return  # checkpointed and validated; nothing touches the queries
    extra = {"stage1_s": round_seconds(this.stage1_s), "shared_trunk": len(group_bits) > 1}
    if any(this.done.done(n) is None for n in plain_names.values()):
        _finish_units(this, net, plain_names, progress, dev, extra | {
            "train_s": round_seconds(history["train_seconds"]),
            "best_val_map": history["best_val_map"],
            "best_val_map_loo": history.get("best_val_map_loo")})
    if any(this.done.done(n) is None for n in names.values()):
        net, history = self_train(
            cfg.hashing, group_bits, labelled.with_unlabelled(rd.unlabelled_view()), g, net,
            history, dev, checkpoint, seed=this.seed, progress=progress)
        if main:
            this.main_nets.update({b: (net, g) for b in group_bits})
        _finish_units(this, net, names, progress, dev, extra | {
            "train_s": round_seconds(history["train_seconds"]),
            "best_val_map": history["best_val_map"],
            "best_val_map_loo": history.get("best_val_map_loo"),
            "self_training": history.get("rounds")})


def _finish_units(this: _Seed, net, names: dict[int, str], progress: bool, device,
                  extra: dict) -> None:
    """Rank 0 evaluates ``net`` and writes one unit per code length; every rank waits for the
    files, so all of them read the same finished units afterwards."""
    if is_main():
        for b, result in _evaluate_net(net, this.data, device, progress).items():
            this.done.finish(names[b], result | extra)
    barrier()


class _SplitData:
    """One seed's images as the table's rows use them (a view of ``RunData``).

    Every row's net with the same frozen part reuses its outputs of the queries and, for data
    in memory, of the database; made on the first evaluation, so runs that evaluate nothing
    (--validation-only) copy no images. A database read from files is streamed instead.
    """

    def __init__(self, rd: RunData, precision_at_n: tuple[int, ...]):
        self.rd, self.precision_at_n = rd, precision_at_n
        self.labels = rd.labels
        self.train_x, self.train_y = rd.images("train"), rd.part_labels("train")
        self.val_x, self.val_y = rd.images("validation"), rd.part_labels("validation")

    @property
    def split(self):
        return self.rd.split

    @cached_property
    def query(self) -> FrozenPartOutputs:
        return FrozenPartOutputs(self.rd.images("query"))

    @cached_property
    def database(self) -> FrozenPartOutputs | StreamedPart:
        data = self.rd.data
        if isinstance(data, ImageDataset):
            return FrozenPartOutputs(resize_images(data.images[self.split.database],
                                                   self.rd.hash_size))
        return StreamedPart(self.rd, "database")


def _evaluate_codes(q_codes, db_codes, data: _SplitData) -> dict:
    from dshgan.metrics import evaluate

    s = data.split
    ns = [n for n in data.precision_at_n if n <= len(s.database)]
    r = evaluate(q_codes, data.labels[s.query], db_codes, data.labels[s.database], topk=s.topk,
                 pr_ns=ns)
    r.pop("conventions", None)
    return r


def _evaluate_net(net, data: _SplitData, device, progress: bool) -> dict[int, dict]:
    """Metrics of every code length the net has; the database is encoded once for all."""
    q = data.query.codes(net, device)
    db = data.database.codes(net, device, progress=progress, desc="encode database")
    return {b: _evaluate_codes(q[b], db[b], data) for b in net.bits}


def _asked(rows: tuple[str, ...] | None, method: str) -> bool:
    """Whether this invocation may train ``method`` (``rows=None``: every row)."""
    return rows is None or method in rows


def check_row_names(rows: tuple[str, ...], config: RunConfig) -> None:
    """Fail before any training when a requested row is not one this table can have."""
    ev = config.evaluation
    known = [main_method_name(config.hashing), *ABLATIONS,
             *(n.upper() for n in (*ev.baselines, *ev.deep_baselines))]
    unknown = [r for r in rows if r not in known]
    if unknown:
        raise ValueError(f"unknown row(s) {unknown}; this table's rows are {known}")


def _run_baselines(config, dataset, data, device, done: Units, bits, seed, progress,
                   rows: tuple[str, ...] | None = None) -> dict:
    """The shallow baselines (rank 0 alone: nothing to share out) and the deep ones (trained
    on every rank, evaluated on rank 0); their finished units, on rank 0."""
    out: dict[str, dict] = {}
    if is_main():
        out.update(_shallow_baselines(config, data, device, done, bits, seed, rows))
    barrier()
    for name in config.evaluation.deep_baselines:
        out.update(_deep_baseline(name, config, data, device, done, bits, seed, progress, rows))
    return out


def _shallow_baselines(config, data, device, done: Units, bits, seed,
                       rows: tuple[str, ...] | None) -> dict:
    out: dict[str, dict] = {}
    feats = None
    s = data.split
    for name in config.evaluation.baselines:
        for b in bits:
            key = f"{name.upper()} {b}"
            result = done.done(key)
            if result is None and not _asked(rows, name.upper()):
                continue
            if result is None:
                if feats is None:
                    feats = _baseline_features(config, data, device)
                t0 = time.perf_counter()
                q, db = baseline_codes(name, b, seed, feats, data.labels, s)
                result = _evaluate_codes(q, db, data)
                result = done.finish(key, result | {"train_s": round(time.perf_counter() - t0, 1)})
            out[key] = result | {"method": name.upper(), "bits": b, "seed": seed}
    return out


def _deep_baseline(name: str, config, data, device, done: Units, bits, seed, progress,
                   rows: tuple[str, ...] | None) -> dict:
    from dshgan.train.deep_baseline import train_deep_baseline

    out: dict[str, dict] = {}
    keys = {b: f"{name.upper()} {b}" for b in bits}
    # One trunk for every code length, also in units written before they said so.
    row = {"method": name.upper(), "seed": seed, "shared_trunk": True}
    if all(done.done(k) is not None for k in keys.values()) or not _asked(rows, name.upper()):
        for b, k in keys.items():
            if (result := done.done(k)) is not None:
                out[k] = result | row | {"bits": b}
        return out
    # One trunk with a head per code length: same budget as one DSH-GAN length.
    net, history = train_deep_baseline(
        name, config.hashing, list(bits),
        HashingData(data.train_x, data.train_y, data.val_x, data.val_y, data.rd.multi_label),
        device, done.folder.parent / "checkpoints" / f"{name}.pt", seed=seed,
        progress=progress)
    if is_main():
        evaluated = _evaluate_net(net, data, device, progress)
        for b, k in keys.items():
            r = done.finish(k, evaluated[b] | {
                "train_s": round_seconds(history["train_seconds"]), "shared_trunk": True,
                "best_val_map": history["best_val_map"],
                "best_val_map_loo": history.get("best_val_map_loo")})
            out[k] = r | row | {"bits": b}
    barrier()
    return out


def _baseline_features(config: RunConfig, data: _SplitData, device) -> np.ndarray:
    """Features of every image the baselines touch, as rows of a (dataset size, d) array:
    the whole array at once for data in memory, else the parts decoded batch by batch."""
    rd = data.rd
    if isinstance(rd.data, ImageDataset):
        return baseline_features(config, resize_images(rd.data.images, rd.hash_size), device)
    parts = {p: baseline_features(config, rd.images(p), device) for p in ("query", "train")}
    streamed = [(b.kept, baseline_features(config, b.images, device))
                for b in rd.batches("database", desc="baseline features")]
    width = parts["train"].shape[1]
    feats = np.zeros((len(rd.data), width), np.float32)
    for p in ("query", "train"):
        feats[getattr(rd.split, p)] = parts[p]
    for kept, f in streamed:
        feats[kept] = f
    return feats


def aggregate(units: dict[str, dict], protocol_name: str, config: RunConfig,
              wall_s: float) -> dict:
    """Mean and standard deviation over seeds per (method, bits)."""
    table: dict[str, dict[str, dict]] = {}
    for r in units.values():
        cell = table.setdefault(r["method"], {}).setdefault(str(r["bits"]), {"runs": []})
        cell["runs"].append(r)
    for per_bits in table.values():
        for cell in per_bits.values():
            for metric in ("map", "map_tie_aware", "precision_r2"):
                values = [run[metric] for run in cell["runs"]]
                cell[metric] = float(np.mean(values))
                cell[metric + "_std"] = float(np.std(values)) if len(values) > 1 else None
            cell["seeds"] = [run["seed"] for run in cell["runs"]]
    return {"protocol": protocol_name, "paper": PAPER_TABLES.get(protocol_name),
            "config": _plain(config), "wall_s": round(wall_s, 1),
            "machine": _machine(), "date": time.strftime("%Y-%m-%d"), "table": table}


def _plain(config):
    from dshgan.config import config_to_dict

    return config_to_dict(config)


def _machine() -> str:
    import platform

    dev = (torch.cuda.get_device_name(0) if torch.cuda.is_available()
           else f"CPU ({torch.get_num_threads()} threads)")
    return f"{platform.node()} {platform.machine()}, {dev}"


def validation_summary(table: dict) -> dict[str, dict]:
    """Per method, both validation views of its kept nets: mean (and std) over seeds.

    Why: configurations are compared on these, never on the test table. Each seed's value is the
    mean over the code lengths it trained (a shared trunk records one value for all of them);
    methods without validation (the shallow baselines) are left out.
    """
    out = {}
    for method, per_bits in table.items():
        per_seed: dict[int, dict[str, list[float]]] = {}
        for cell in per_bits.values():
            for run in cell["runs"]:
                seen = per_seed.setdefault(run["seed"], {"best_val_map": [],
                                                         "best_val_map_loo": []})
                for key in seen:
                    if run.get(key) is not None:
                        seen[key].append(run[key])
        summary = {}
        for key in ("best_val_map", "best_val_map_loo"):
            values = [float(np.mean(v[key])) for v in per_seed.values() if v[key]]
            if values:
                summary[key] = (float(np.mean(values)),
                                float(np.std(values)) if len(values) > 1 else None, len(values))
        if summary:
            out[method] = summary
    return out


def _validation_lines(table: dict) -> list[str]:
    summary = validation_summary(table)
    if not summary:
        return []

    def fmt(entry):
        if entry is None:
            return "—"
        mean, std, n = entry
        return f"{mean:.4f}" + (f" ± {std:.4f}" if std is not None else "") + f" ({n})"

    intro = ("**Validation** (what chose each net's epoch; compare configurations on these, "
             "never on the table above). Mean over the code lengths, then over seeds (± std; "
             "number of seeds):")
    lines = ["", intro, "",
             "| Method | validation vs training | validation leave-one-out |",
             "| :--- | ---: | ---: |"]
    for method, entry in summary.items():
        lines.append(f"| {method} | {fmt(entry.get('best_val_map'))} | "
                     f"{fmt(entry.get('best_val_map_loo'))} |")
    return lines


def write_outputs(out: Path, results: dict) -> None:
    """results.json, results.md (paper layout, paper beside ours) and plots at the top length."""
    from dshgan.report.plots import plot_pr_curves, plot_precision_at_n
    from dshgan.report.tables import map_table_markdown, write_json
    from dshgan.report.training_time import training_time_lines

    write_json(results, out / "results.json")
    table = results["table"]
    bits = sorted({int(b) for per_bits in table.values() for b in per_bits})
    main_rows = [m for m in table if m not in ABLATIONS]
    rows = {}
    for m in main_rows:
        rows[m] = {}
        for b in bits:
            cell = table[m].get(str(b))
            if cell is None:
                rows[m][b] = None
            elif cell["map_std"] is not None:
                rows[m][b] = (cell["map"], cell["map_std"])
            else:
                rows[m][b] = cell["map"]
    paper = {f"{k}": {b: v for b, v in per.items() if b in bits}
             for k, per in (results["paper"] or {}).items()}
    scope = " (whole database)" if results["paper"] is CIFAR10 else ""
    lines = [f"# {results['protocol']}: mAP{scope}",
             "", (f"Machine: {results['machine']}; date {results['date']}; wall time "
             f"{results['wall_s'] / 60:.1f} min for this invocation (finished units are not rerun)."),
             "", "Values are means over seeds (± standard deviation where more than one seed ran).",
             ""]
    compare = [(m, "DSH-GANs") for m in ("DSH-GAN", REAL_TRIPLETS) if paper and m in rows] or None
    lines.append(map_table_markdown(rows, bits, reference=paper or None, compare=compare,
                                    title="Ours and the paper"))
    abl = {m: {b: (table[m][str(b)]["map"] if str(b) in table[m] else None) for b in bits}
           for m in table if m in ABLATIONS}
    if abl:
        top = max(bits)
        # Ablations run the paper's method (no self-training), so they compare with that row.
        base = "DSH-GAN w/o self-training" if "DSH-GAN w/o self-training" in table else "DSH-GAN"
        abl_rows = {f"{base} (all parts)": {
            top: table.get(base, {}).get(str(top), {}).get("map")}}
        abl_rows |= {m: {top: v[top]} for m, v in abl.items()}
        lines += ["", map_table_markdown(abl_rows, [top], title=f"Ablations at {top} bits")]
    lines += _validation_lines(table)
    lines += training_time_lines(table)
    seeds = sorted({s for per in table.values() for c in per.values() for s in c["seeds"]})
    lines += ["", (f"Seeds: {seeds}. Tie-aware mAP and precision within Hamming radius 2 are "
                   "in results.json. Conventions: docs/design.md, 'Metric conventions'.")]
    atomic_write_text(out / "results.md", "\n".join(lines) + "\n")
    top = str(max(bits))
    pr, pn = {}, {}
    for m, per_bits in table.items():
        cell = per_bits.get(top)
        if cell:
            run = cell["runs"][0]
            pr[m] = (np.asarray(run["pr_curve"]["precision"]), np.asarray(run["pr_curve"]["recall"]))
            pn[m] = (np.asarray(run["precision_at_n"]["n"]),
                     np.asarray(run["precision_at_n"]["precision"]))
    if pr:
        plot_pr_curves(pr, out / f"pr_curve_{top}bits.png", title=f"PR by Hamming radius, {top} bits")
        plot_precision_at_n(pn, out / f"precision_at_n_{top}bits.png",
                            title=f"Precision@N, {top} bits")
