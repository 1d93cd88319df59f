"""One run, end to end: data -> protocol split -> stage 1 -> stage 2 -> codes -> metrics ->
baselines on the same split -> report. Every step leaves its output in the run folder, and a
rerun with ``resume=True`` picks up each stage where it stopped.

Data of any size: folders and list files stay on disk (data/files.py); the labelled parts are
decoded once at the hashing net's size, the GAN gets its own small copy, and the database is
streamed in batches through the nets and the baselines' features together (run_data.py).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import random
import time
from pathlib import Path

import numpy as np
import torch

from dshgan.config import RunConfig, config_to_dict, save_config
from dshgan.run_data import RunData
from dshgan.train.distributed import (
    from_main,
    is_main,
    rank_device,
    rank_seed,
    training_group,
    world_size,
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
from dshgan.train.self_training import train_hashing_self_trained
from dshgan.train.stage1_gan import train_gan
from dshgan.train.training_clock import round_seconds, total_seconds

# The main row's name: the paper's method, or (hashing.use_synthetic: false in the config itself,
# not as an ablation) our variant trained on triplets of real labelled images without a GAN.
PAPER_METHOD = "DSH-GAN"
REAL_TRIPLETS = "real-triplet hashing"
PIXEL_FEATURE_SIZE = 16  # "tiny image" side for pixel baselines: 768 dimensions at any input


def main_method_name(hashing) -> str:
    return PAPER_METHOD if hashing.use_synthetic else REAL_TRIPLETS


def image_sizes(config: RunConfig) -> tuple[int, int]:
    """(hashing size, GAN size) in px: data.image_size ("auto": the trunk's input size) and
    gan.image_size (default: data.image_size when it is a number, else 32)."""
    from dshgan.nets import create_backbone

    d, h = config.data, config.hashing
    if d.image_size == "auto":
        kwargs = dict(h.backbone_kwargs) | {"pretrained": False}
        hash_size = int(create_backbone(h.backbone, **kwargs).input_size)
    else:
        hash_size = int(d.image_size)
    gan_size = config.gan.image_size or (hash_size if d.image_size != "auto" else 32)
    return hash_size, int(gan_size)


def load_data(config: RunConfig, image_size: int | None = None):
    """The dataset named by ``config.data`` (the bundled sample when no source is given):
    path-backed for folders and list files, decoded for archives."""
    from dshgan.data.open_source import open_images

    d = config.data
    size = image_size or image_sizes(config)[0]
    return open_images(d.source, size, d.list_dir, d.image_root, d.top_concepts)


def draw_split(config: RunConfig, data, protocol=None, seed: int = 0):
    """(split, sentence for the log): a prepared split read back, or one drawn as configured."""
    from dshgan.data import make_split, read_split
    from dshgan.data.split_sizes import PER_CLASS, resolve_protocol

    d = config.data
    if d.split_dir is not None:
        split = read_split(d.split_dir, data)
        return split, f"split read from {d.split_dir} (protocol {split.protocol!r})"
    if protocol is not None:
        return make_split(data, protocol, seed=seed), f"protocol {protocol.name!r} given in code"
    overrides = {k: getattr(d, k) for k in (*PER_CLASS, "labelled_in_database", "topk")}
    protocol, why = resolve_protocol(d.protocol, data.labels, data.class_names,
                                     data.multi_label, overrides)
    return make_split(data, protocol, seed=seed), why


def run_experiment(
    config: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool = True,
    dataset=None, protocol=None,
) -> dict:
    """Train and evaluate one configuration; returns the metrics dict also written to
    ``run_dir/metrics.json``. ``dataset``/``protocol`` override the config's (tests, dry runs).
    With no test queries (``data.query_per_class: 0``) it trains, validates and saves the model,
    and evaluates nothing.

    Started by torchrun (or in a process group the caller set up), every rank trains its share
    of each batch (train/distributed.py); rank 0 alone writes the run folder and evaluates, and
    every rank returns its metrics."""
    run_dir = Path(run_dir)
    if run_dir.exists() and any(run_dir.glob("*.pt")) and not resume:
        raise FileExistsError(
            f"{run_dir} already holds checkpoints; pass --resume to continue it or choose "
            "another --run-dir")
    with training_group(config.device):
        run = _start_run(config, run_dir, dataset, protocol, progress and is_main())
        trained = _train_stages(run)
        return from_main(lambda: _evaluate_run(run, trained, given=dataset is not None))


@dataclasses.dataclass
class _Run:
    """What every part of one run shares: its config, folder, data, device and timings."""

    config: RunConfig
    run_dir: Path
    rd: RunData
    bad: object  # data.bad_images.BadImages
    device: torch.device
    progress: bool
    timing: dict[str, float]


def _start_run(config: RunConfig, run_dir: Path, dataset, protocol, progress: bool) -> _Run:
    """Device, seeds, data and split; then (rank 0) the run folder, its log and config.yaml.
    Bad input fails before anything is written to the run folder."""
    from dshgan.data.bad_images import BadImages

    device = rank_device(resolve_device(config.device))
    limit_threads(config.num_threads)
    seed_everything(rank_seed(config.seed))  # dropout and initial weights; rank 0: the seed
    t0 = time.perf_counter()
    hash_size, gan_size = image_sizes(config)
    data = dataset if dataset is not None else load_data(config, hash_size)
    split, why = draw_split(config, data, protocol, config.seed)
    d = config.data
    bad = BadImages(len(data), d.on_bad_image, d.max_bad_fraction)
    if is_main():
        run_dir.mkdir(parents=True, exist_ok=True)
        setup_logging(run_dir)
        save_config(config, run_dir / "config.yaml")
    logger.info("data: %s; %s; images at %d px for hashing, %d px for the GAN", data, why,
                hash_size, gan_size)
    if world_size() > 1:
        logger.info("training on %d processes (%s); each takes its share of every batch",
                    world_size(), torch.distributed.get_backend())
    rd = RunData(data, split, hash_size, gan_size, bad, d.loader_workers, progress, config.seed)
    return _Run(config, run_dir, rd, bad, device, progress,
                {"data_s": time.perf_counter() - t0})


@dataclasses.dataclass
class _Trained:
    nets: dict
    histories: dict
    last_generator: object
    gan_history: dict | None
    gan_metrics: dict | None


def _train_stages(run: _Run) -> _Trained:
    """Stage 1 (when the method uses synthetic images), the generator's measurements (rank 0),
    stage 2; rank 0 saves model.pt."""
    config, rd, device, timing = run.config, run.rd, run.device, run.timing
    generator, gan_history = None, None
    t0 = time.perf_counter()
    if config.hashing.use_synthetic:
        generator, _, gan_history = train_gan(
            config.gan, rd.gan_train_images, rd.part_labels("train"), rd.gan_unlabelled_images,
            rd.multi_label, device, run.run_dir / "stage1.pt", seed=config.seed,
            progress=run.progress)
    # Seconds trained in every sitting together, so a resumed run reports what it cost
    # (train/training_clock.py); None when a checkpoint predates the count.
    timing["stage1_s"] = (gan_history["train_seconds"] if gan_history is not None
                          else time.perf_counter() - t0)
    gan_metrics = None
    if generator is not None and config.evaluation.generator_metrics and is_main():
        from dshgan.metrics.generative import generator_report

        t0 = time.perf_counter()
        with _random_state_kept():  # measuring must not change what stage 2 draws
            gan_metrics = generator_report(
                generator, rd.gan_train_images, rd.part_labels("train"), rd.images("validation"),
                rd.part_labels("validation"), rd.multi_label, device, config.seed)
        timing["gan_eval_s"] = time.perf_counter() - t0

    nets, histories, last_generator = _train_nets(config, rd, generator, device, run.run_dir,
                                                  run.progress)
    timing["stage2_s"] = total_seconds(*(h.get("train_seconds") for h in histories.values()))
    if is_main():
        _save_model(run.run_dir, nets, last_generator, config, rd)
    return _Trained(nets, histories, last_generator, gan_history, gan_metrics)


def _evaluate_run(run: _Run, trained: _Trained, given: bool) -> dict:
    """Rank 0: codes, metrics, baselines, the saved split and the report."""
    from dshgan.data import write_split

    config, rd, timing = run.config, run.rd, run.timing
    t0 = time.perf_counter()
    evaluated = bool(len(rd.split.query))
    codes = _encode_and_features(config, rd, trained.nets, run.device) if evaluated else None
    timing["encode_s"] = time.perf_counter() - t0
    write_split(rd.split_without_failures(), rd.data, run.run_dir / "split")
    run.bad.write(run.run_dir / "bad_images.txt")
    logger.info("images: %s", run.bad.summary())

    metrics = {
        "dataset": f"{_dataset_name(config, given)} ({len(rd.data)} images)",
        "protocol": rd.split.protocol, "seed": config.seed, "topk": rd.split.topk,
        "validation": {k: v.get("best_val_map") for k, v in trained.histories.items()},
        "bad_images": len(run.bad),
        "runtime": {"world_size": world_size(), "device": str(run.device)},
    }
    if trained.gan_metrics is not None:
        metrics["generator"] = trained.gan_metrics
    if not evaluated:
        metrics["results"] = {}
        metrics["timing"] = {k: round_seconds(v) for k, v in timing.items()}
        _write_train_only_report(run.run_dir, metrics, trained.histories, rd.class_names)
        logger.info("run done (train only, no test queries): validation %s",
                    metrics["validation"])
        return metrics
    t0 = time.perf_counter()
    results, conventions = _evaluate(config, rd, codes, run.device)
    timing["evaluate_s"] = time.perf_counter() - t0
    metrics.update(conventions=conventions, results=results,
                   timing={k: round_seconds(v) for k, v in timing.items()})
    _write_figures_and_report(run.run_dir, metrics, config, rd, trained.last_generator,
                              trained.gan_history, trained.histories, codes, run.device)
    main = main_method_name(config.hashing)
    logger.info("run done: %s", {b: round(r["map"], 4) for b, r in results[main].items()})
    return metrics


@contextlib.contextmanager
def _random_state_kept():
    """torch's, numpy's and Python's global random states as they were before the block."""
    states = torch.get_rng_state(), np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])


def _train_nets(config: RunConfig, rd: RunData, generator, device, run_dir: Path,
                progress: bool) -> tuple[dict, dict, object]:
    """Stage 2 for each group of code lengths (one group when they share a trunk)."""
    h = config.hashing
    groups = [list(h.bits)] if h.shared_trunk else [[b] for b in h.bits]
    needs_pool = h.consistency_weight > 0 or h.self_training_rounds > 0
    pool = rd.unlabelled_view() if needs_pool else None
    nets, histories, g = {}, {}, None
    for bits in groups:
        # Each group trains from the same stage-1 generator, not one already tuned by another.
        g = copy.deepcopy(generator)  # None stays None
        name = "stage2.pt" if h.shared_trunk else f"stage2-{bits[0]}bits.pt"
        data = HashingData(rd.images("train"), rd.part_labels("train"), rd.images("validation"),
                           rd.part_labels("validation"), rd.multi_label, unlabelled=pool)
        net, history = train_hashing_self_trained(h, bits, data, g, device, run_dir / name,
                                                  seed=config.seed, progress=progress)
        for b in bits:
            nets[b] = net
        histories["/".join(map(str, bits))] = history
    return nets, histories, g


@dataclasses.dataclass
class _Codes:
    """Codes of the queries and of the (streamed) database, and the baselines' features."""

    query: dict[int, np.ndarray]
    database: dict[int, np.ndarray]
    features: dict[str, np.ndarray]  # "query", "train", "database"


def _encode_and_features(config: RunConfig, rd: RunData, nets: dict, device) -> _Codes:
    """One pass over the database: every net's codes and the baselines' features per batch.

    The database's bad images drop out here, so ``rd.split.database`` is narrowed to the ones
    encoded: the metrics, the baselines and the saved split all see the same database."""
    unique = list({id(n): n for n in nets.values()}.values())
    queries = FrozenPartOutputs(rd.images("query"))  # nets sharing a frozen part reuse it
    q_codes: dict[int, np.ndarray] = {}
    for net in unique:
        q_codes.update(queries.codes(net, device))
    backbone = _feature_backbone(config, device) if config.evaluation.baselines else None
    want = bool(config.evaluation.baselines)
    feats: list[np.ndarray] = []
    db_codes = rd.encode_part("database", unique, device, desc="encode database", each_batch=(
        (lambda batch: feats.append(baseline_features(config, batch.images, device, backbone)))
        if want else None))
    features = {}
    if want:
        features = {"query": baseline_features(config, rd.images("query"), device, backbone),
                    "train": baseline_features(config, rd.images("train"), device, backbone),
                    "database": np.concatenate(feats)}
    return _Codes(q_codes, db_codes, features)


def _evaluate(config: RunConfig, rd: RunData, codes: _Codes, device) -> tuple[dict, str]:
    """Metrics of the main method and of the shallow baselines on the same split."""
    from dshgan.metrics import evaluate

    s = rd.split
    q_labels, db_labels = rd.labels[s.query], rd.labels[s.database]
    ns = [n for n in config.evaluation.precision_at_n if n <= len(s.database)]
    main = main_method_name(config.hashing)
    results = {main: {str(b): evaluate(codes.query[b], q_labels, codes.database[b], db_labels,
                                       topk=s.topk, pr_ns=ns) for b in config.hashing.bits}}
    conventions = results[main][str(config.hashing.bits[0])].pop("conventions")
    for r in results[main].values():
        r.pop("conventions", None)
    f = codes.features
    for name in config.evaluation.baselines:
        results[name.upper()] = {}
        for b in config.hashing.bits:
            q, db = fit_baseline(name, b, config.seed, f["train"], rd.labels[s.train],
                                 f["database"], f["query"])
            r = evaluate(q, q_labels, db, db_labels, topk=s.topk, pr_ns=ns)
            r.pop("conventions", None)
            results[name.upper()][str(b)] = r
    return results, conventions


def _dataset_name(config: RunConfig, given: bool) -> str:
    if given:
        return "data given in code"
    d = config.data
    if d.source is None and d.list_dir is None:
        return "bundled CIFAR-10 sample"
    return Path(d.source or d.list_dir).name


def _feature_backbone(config: RunConfig, device):
    if config.evaluation.baseline_features != "backbone":
        return None
    from dshgan.nets import create_backbone

    net = create_backbone(config.hashing.backbone, **dict(config.hashing.backbone_kwargs))
    return net.to(device).eval()


def baseline_features(config: RunConfig, images: np.ndarray, device, backbone=None
                      ) -> np.ndarray:
    """Features the shallow baselines hash: a 16x16 "tiny image" of the pixels (768 dimensions
    at any input size, so their PCA stays cheap), or the pretrained backbone's pooled output."""
    if config.evaluation.baseline_features == "pixels":
        return pixel_features(images)
    if config.evaluation.baseline_features == "backbone":
        from dshgan.image_tensors import to_tensor_images

        net = backbone if backbone is not None else _feature_backbone(config, device)
        out = []
        with torch.no_grad():
            for s in range(0, len(images), 256):
                x = to_tensor_images(images[s:s + 256], device)
                size = net.input_size
                x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                                    align_corners=False)
                out.append(net.forward_features(x).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, net.feature_dim), np.float32)
    raise ValueError(f"baseline_features must be 'pixels' or 'backbone', got "
                     f"{config.evaluation.baseline_features!r}")


def pixel_features(images: np.ndarray) -> np.ndarray:
    """Mean over square blocks down to 16x16 (exact block means when the side is a multiple
    of 16, e.g. 2x2 blocks of CIFAR's 32 px), else a box-filtered resize; floats in [0, 1]."""
    n, h, w, c = images.shape
    side = PIXEL_FEATURE_SIZE
    if h % side or w % side:
        from PIL import Image

        images = np.stack([np.asarray(Image.fromarray(im).resize((side, side), Image.BOX))
                           for im in images]) if n else np.zeros((0, side, side, c), np.uint8)
        return images.reshape(n, -1).astype(np.float32) / 255.0
    x = images.astype(np.float32) / 255.0
    x = x.reshape(n, side, h // side, side, w // side, c).mean(axis=(2, 4))
    return x.reshape(n, -1)


BASELINE_FIT_LIMIT = 20000


def fit_baseline(name: str, bits: int, seed: int, train_features: np.ndarray,
                 train_labels: np.ndarray, database_features: np.ndarray,
                 query_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit one shallow baseline the same way everywhere; return (query, database) codes.

    Unsupervised methods fit on the database (the unlabelled pool; at most 20,000 of it, drawn
    with ``seed``), supervised ones on the labelled training set with its labels.
    """
    from dshgan.baselines import create_baseline

    method = create_baseline(name, bits=bits, seed=seed)
    if method.supervised:
        method.fit(train_features, train_labels)
    else:
        pool = np.arange(len(database_features))
        if len(pool) > BASELINE_FIT_LIMIT:
            pool = pool[np.random.default_rng(seed).permutation(len(pool))[:BASELINE_FIT_LIMIT]]
        method.fit(database_features[pool])
    return method.encode(query_features), method.encode(database_features)


def baseline_codes(name: str, bits: int, seed: int, features: np.ndarray, labels: np.ndarray,
                   split) -> tuple[np.ndarray, np.ndarray]:
    """``fit_baseline`` on features of the whole dataset, indexed by ``split``."""
    return fit_baseline(name, bits, seed, features[split.train], labels[split.train],
                        features[split.database], features[split.query])


def _save_model(run_dir: Path, nets: dict, generator, config: RunConfig, rd: RunData) -> None:
    """model.pt: what ``dshgan encode``, ``dshgan index`` and the library load back."""
    from dshgan.train.checkpoints import save_checkpoint

    unique = {id(n): n for n in nets.values()}
    save_checkpoint(run_dir / "model.pt", {
        "nets": [{"bits": n.bits, "state": n.state_dict()} for n in unique.values()],
        "generator": generator.state_dict() if generator is not None else None,
        "config": config_to_dict(config),
        "class_names": rd.class_names,
        "multi_label": rd.multi_label,
        "image_size": [rd.hash_size, rd.hash_size],  # what images are decoded at to encode
        "gan_image_size": rd.gan_size,
    })


def _write_train_only_report(run_dir: Path, metrics: dict, histories: dict,
                             class_names: list[str]) -> None:
    from dshgan.io_utils import atomic_write_text

    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    lines = ["# Run report (train only)", "",
             (f"Dataset: {metrics['dataset']}; protocol {metrics['protocol']}, no test "
              "queries, so nothing was evaluated on a test set."), "",
             "Validation mAP of the kept epoch (validation images against the training images):",
             ""]
    lines += [f"- {bits} bits: {v:.4f}" if v is not None else f"- {bits} bits: n/a"
              for bits, v in metrics["validation"].items()]
    lines += ["", ("model.pt holds the trained net(s): `dshgan index build` and "
                   "`dshgan encode` load it."), ""]
    atomic_write_text(run_dir / "report.md", "\n".join(lines))
    _append_generator_report(run_dir, metrics, class_names)
    (run_dir / "validation.json").write_text(json.dumps(
        {k: v["val_map"] for k, v in histories.items()}, indent=2))


def _append_generator_report(run_dir: Path, metrics: dict, class_names: list[str]) -> None:
    """The stage-1 generator's measurements (metrics/generative) at the end of report.md."""
    if "generator" not in metrics:
        return
    from dshgan.metrics.generative import report_lines

    with open(run_dir / "report.md", "a", encoding="utf-8") as fh:
        fh.write("\n## Stage-1 generator\n\n"
                 + "\n".join(report_lines(metrics["generator"], class_names)) + "\n")


def _write_figures_and_report(run_dir, metrics, config, rd: RunData, generator, gan_history,
                              histories, codes: _Codes, device) -> None:
    from dshgan.report import plots
    from dshgan.report.run_report import figures_from_metrics, write_run_report
    from dshgan.report.synthetic_grid import save_synthetic_grid

    top_bits = max(config.hashing.bits)
    figures = figures_from_metrics(metrics, run_dir, top_bits)
    if generator is not None:
        save_synthetic_grid(generator, rd.class_names, run_dir / "synthetic_grid.png",
                            config.seed, device)
        figures["Synthetic images per class"] = "synthetic_grid.png"
    _retrieval_figure(run_dir, rd, codes.query[top_bits], codes.database[top_bits], top_bits,
                      figures)
    if gan_history and gan_history["d_loss"]:
        plots.plot_training_curves({k: v for k, v in gan_history.items()
                                    if isinstance(v, list) and v},
                                   run_dir / "gan_curves.png", title="Stage 1 GAN per step")
        figures["Stage 1 GAN training"] = "gan_curves.png"
    first = next(iter(histories.values()))
    curves = {k: first[k] for k in ("loss", "triplet", "adversarial", "classification")}
    plots.plot_training_curves(curves, run_dir / "training_curves.png",
                               title="Stage 2 losses per step")
    figures["Stage 2 training losses"] = "training_curves.png"
    write_run_report(run_dir, metrics, config_to_dict(config), figures)
    _append_generator_report(run_dir, metrics, rd.class_names)
    (run_dir / "validation.json").write_text(json.dumps(
        {k: v["val_map"] for k, v in histories.items()}, indent=2))


def _retrieval_figure(run_dir, rd: RunData, q_codes, db_codes, bits, figures) -> None:
    from dshgan.data.files import decode_part
    from dshgan.index import HammingIndex
    from dshgan.report import plots

    labels, q_ids = rd.labels, rd.split.query
    # One query per class (the first of each), so the figure shows every class once.
    shown, seen = [], set()
    for i, qi in enumerate(q_ids):
        key = tuple(np.flatnonzero(labels[qi]))
        if key not in seen:
            seen.add(key)
            shown.append(i)
        if len(shown) == 10:
            break
    index = HammingIndex(bits)  # ids = database order, so ties rank as the metrics rank them
    index.add(db_codes)
    _, ids = index.search(q_codes[shown], min(10, len(db_codes)))
    retrieved = rd.split.database[ids]
    relevant = (labels[retrieved] & labels[q_ids[shown]][:, None, :]).any(axis=2)
    thumbs = decode_part(rd.data, retrieved.ravel(), rd.hash_size, workers=0)
    if len(thumbs.kept) != retrieved.size:  # an image became unreadable since it was encoded
        return
    plots.plot_retrieval_examples(
        decode_part(rd.data, q_ids[shown], rd.hash_size, workers=0).images,
        thumbs.images.reshape(*retrieved.shape, *thumbs.images.shape[1:]), relevant,
        run_dir / "retrieval_examples.png",
        query_labels=[", ".join(rd.class_names[j] for j in np.flatnonzero(labels[q]))
                      for q in q_ids[shown]],
        title=f"Top 10 by Hamming distance at {bits} bits (green: relevant, red: not)")
    figures[f"Retrieval examples at {bits} bits"] = "retrieval_examples.png"


def replace_config(config: RunConfig, **sections) -> RunConfig:
    """Config with some sections' fields replaced: replace_config(c, hashing={"epochs": 1})."""
    changes = {}
    for section, values in sections.items():
        current = getattr(config, section)
        changes[section] = (dataclasses.replace(current, **values)
                            if dataclasses.is_dataclass(current) else values)
    return dataclasses.replace(config, **changes)
