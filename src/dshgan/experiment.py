"""One run, end to end: data -> protocol split -> stage 1 -> stage 2 -> codes -> metrics ->
baselines on the same split -> report. Every step leaves its output in the run folder, and a
rerun with ``resume=True`` picks up each stage where it stopped.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from dshgan.config import RunConfig, config_to_dict, save_config
from dshgan.train.encoding import FrozenPartOutputs
from dshgan.train.loop import logger, resolve_device, seed_everything, setup_logging
from dshgan.train.self_training import train_hashing_self_trained
from dshgan.train.stage1_gan import train_gan


def load_data(config: RunConfig):
    """The dataset named by ``config.data`` (the bundled sample when no source is given)."""
    from dshgan.data import load_dataset, load_sample

    d = config.data
    if d.source is None and d.list_dir is None:
        return load_sample()
    return load_dataset(d.source, image_size=d.image_size, list_dir=d.list_dir,
                        image_root=d.image_root)


def run_experiment(
    config: RunConfig, run_dir: str | Path, resume: bool = False, progress: bool = True,
    dataset=None, protocol=None,
) -> dict:
    """Train and evaluate one configuration; returns the metrics dict also written to
    ``run_dir/metrics.json``. ``dataset``/``protocol`` override the config's (tests, dry runs)."""
    from dshgan.data import get_protocol, make_split, write_split

    run_dir = Path(run_dir)
    if run_dir.exists() and any(run_dir.glob("*.pt")) and not resume:
        raise FileExistsError(
            f"{run_dir} already holds checkpoints; pass --resume to continue it or choose "
            "another --run-dir")
    device = resolve_device(config.device)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    seed_everything(config.seed)
    timing: dict[str, float] = {}

    # Data first: bad input fails before anything is written to the run folder.
    t0 = time.perf_counter()
    dataset_given = dataset is not None
    dataset = dataset if dataset is not None else load_data(config)
    protocol = protocol if protocol is not None else get_protocol(config.data.protocol)
    split = make_split(dataset, protocol, seed=config.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(run_dir)
    save_config(config, run_dir / "config.yaml")
    write_split(split, dataset, run_dir / "split")
    timing["data_s"] = time.perf_counter() - t0
    logger.info("data: %s; split %s", dataset, {k: len(getattr(split, k)) for k in
                ("query", "train", "validation", "database", "unlabelled")})

    images, labels = dataset.images, dataset.labels
    train_x, train_y = images[split.train], labels[split.train]
    val_x, val_y = images[split.validation], labels[split.validation]
    h = config.hashing

    generator, gan_history = None, None
    t0 = time.perf_counter()
    if h.use_synthetic:
        generator, _, gan_history = train_gan(
            config.gan, train_x, train_y, images[split.unlabelled], dataset.multi_label, device,
            run_dir / "stage1.pt", seed=config.seed, progress=progress)
    timing["stage1_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    groups = [list(h.bits)] if h.shared_trunk else [[b] for b in h.bits]
    nets, histories = {}, {}
    for bits in groups:
        # Each group trains from the same stage-1 generator, not one already tuned by another.
        g = copy.deepcopy(generator)  # None stays None
        name = "stage2.pt" if h.shared_trunk else f"stage2-{bits[0]}bits.pt"
        net, history = train_hashing_self_trained(
            h, bits, g, train_x, train_y, val_x, val_y, images[split.unlabelled],
            dataset.multi_label, device, run_dir / name, seed=config.seed, progress=progress)
        for b in bits:
            nets[b] = net
        histories["/".join(map(str, bits))] = history
        last_generator = g
    timing["stage2_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    query_codes, db_codes = {}, {}
    # Nets of several code lengths share the frozen part of the trunk: its outputs are reused.
    queries = FrozenPartOutputs(images[split.query])
    database = FrozenPartOutputs(images[split.database])
    for net in {id(n): n for n in nets.values()}.values():
        query_codes.update(queries.codes(net, device, progress=progress, desc="encode queries"))
        db_codes.update(database.codes(net, device, progress=progress, desc="encode database"))
    timing["encode_s"] = time.perf_counter() - t0

    from dshgan.metrics import evaluate

    t0 = time.perf_counter()
    q_labels, db_labels = labels[split.query], labels[split.database]
    ns = [n for n in config.evaluation.precision_at_n if n <= len(split.database)]
    results = {"DSH-GAN": {str(b): evaluate(query_codes[b], q_labels, db_codes[b], db_labels,
                                            topk=split.topk, pr_ns=ns) for b in h.bits}}
    conventions = results["DSH-GAN"][str(h.bits[0])].pop("conventions")
    for r in results["DSH-GAN"].values():
        r.pop("conventions", None)
    results.update(_baseline_results(config, dataset, split, ns))
    timing["evaluate_s"] = time.perf_counter() - t0

    _save_model(run_dir, nets, last_generator, config, dataset)
    metrics = {
        "dataset": f"{_dataset_name(config, given=dataset_given)} ({len(dataset)} images)",
        "protocol": split.protocol, "seed": config.seed, "topk": split.topk,
        "conventions": conventions, "results": results,
        "validation": {k: v.get("best_val_map") for k, v in histories.items()},
        "timing": {k: round(v, 1) for k, v in timing.items()},
    }
    _write_figures_and_report(run_dir, metrics, config, dataset, split, last_generator,
                              gan_history, histories, query_codes, db_codes, device)
    logger.info("run done: %s", {b: round(r["map"], 4) for b, r in results["DSH-GAN"].items()})
    return metrics


def _dataset_name(config: RunConfig, given: bool) -> str:
    if given:
        return "data given in code"
    d = config.data
    if d.source is None and d.list_dir is None:
        return "bundled CIFAR-10 sample"
    return Path(d.source or d.list_dir).name


def baseline_features(config: RunConfig, images: np.ndarray, device) -> np.ndarray:
    """Features the shallow baselines hash: raw pixels, or the pretrained backbone's output."""
    if config.evaluation.baseline_features == "pixels":
        # 2x2 average pooling: a 16x16 "tiny image" for CIFAR keeps the baselines' PCA at 768
        # dimensions instead of 3,072 (a 64x cheaper eigendecomposition, same mAP in practice).
        n, h, w, c = images.shape
        x = images[:, : h - h % 2, : w - w % 2].astype(np.float32) / 255.0
        x = x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))
        return x.reshape(n, -1)
    if config.evaluation.baseline_features == "backbone":
        from dshgan.nets import create_backbone
        from dshgan.train.loop import to_tensor_images

        net = create_backbone(config.hashing.backbone, **dict(config.hashing.backbone_kwargs))
        net.to(device).eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(images), 256):
                x = to_tensor_images(images[s:s + 256], device)
                size = net.input_size
                x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                                    align_corners=False)
                out.append(net.forward_features(x).cpu().numpy())
        return np.concatenate(out)
    raise ValueError(f"baseline_features must be 'pixels' or 'backbone', got "
                     f"{config.evaluation.baseline_features!r}")


BASELINE_FIT_LIMIT = 20000


def baseline_codes(name: str, bits: int, seed: int, features: np.ndarray, labels: np.ndarray,
                   split) -> tuple[np.ndarray, np.ndarray]:
    """Fit one shallow baseline the same way everywhere and return (query, database) codes.

    Unsupervised methods fit on the database (the unlabelled pool; at most 20,000 of it, drawn
    with ``seed``), supervised ones on the labelled training set with its labels.
    """
    from dshgan.baselines import create_baseline

    method = create_baseline(name, bits=bits, seed=seed)
    if method.supervised:
        method.fit(features[split.train], labels[split.train])
    else:
        pool = split.database
        if len(pool) > BASELINE_FIT_LIMIT:
            pool = pool[np.random.default_rng(seed).permutation(len(pool))[:BASELINE_FIT_LIMIT]]
        method.fit(features[pool])
    return method.encode(features[split.query]), method.encode(features[split.database])


def _baseline_results(config: RunConfig, dataset, split, ns) -> dict:
    """Shallow baselines on the same split, evaluated like DSH-GAN."""
    if not config.evaluation.baselines:
        return {}
    from dshgan.metrics import evaluate

    feats = baseline_features(config, dataset.images, resolve_device(config.device))
    labels = dataset.labels
    out: dict[str, dict] = {}
    for name in config.evaluation.baselines:
        out[name.upper()] = {}
        for b in config.hashing.bits:
            q, db = baseline_codes(name, b, config.seed, feats, labels, split)
            r = evaluate(q, labels[split.query], db, labels[split.database], topk=split.topk,
                         pr_ns=ns)
            r.pop("conventions", None)
            out[name.upper()][str(b)] = r
    return out


def _save_model(run_dir: Path, nets: dict, generator, config: RunConfig, dataset) -> None:
    from dshgan.train.loop import save_checkpoint

    unique = {id(n): n for n in nets.values()}
    save_checkpoint(run_dir / "model.pt", {
        "nets": [{"bits": n.bits, "state": n.state_dict()} for n in unique.values()],
        "generator": generator.state_dict() if generator is not None else None,
        "config": config_to_dict(config),
        "class_names": list(dataset.class_names),
        "multi_label": bool(dataset.multi_label),
        "image_size": list(dataset.images.shape[1:3]),
    })


def _write_figures_and_report(run_dir, metrics, config, dataset, split, generator, gan_history,
                              histories, query_codes, db_codes, device) -> None:
    from dshgan.report import plots
    from dshgan.report.run_report import figures_from_metrics, write_run_report
    from dshgan.train.loop import to_uint8_images

    top_bits = max(config.hashing.bits)
    figures = figures_from_metrics(metrics, run_dir, top_bits)
    if generator is not None:
        per_class = 8
        c = dataset.labels.shape[1]
        shown = min(c, 10)
        y = torch.eye(c)[torch.arange(shown).repeat_interleave(per_class)].to(device)
        generator.eval()
        with torch.no_grad():
            z = torch.randn(len(y), generator.noise_dim,
                            generator=torch.Generator().manual_seed(config.seed)).to(device)
            samples = to_uint8_images(generator(z, y))
        plots.plot_image_grid(samples, run_dir / "synthetic_grid.png", nrow=per_class,
                              row_labels=list(dataset.class_names[:shown]),
                              title="Synthetic images per class (one row per class)")
        figures["Synthetic images per class"] = "synthetic_grid.png"
    _retrieval_figure(run_dir, dataset, split, query_codes[top_bits], db_codes[top_bits],
                      top_bits, figures)
    if gan_history and gan_history["d_loss"]:
        plots.plot_training_curves({k: v for k, v in gan_history.items() if v},
                                   run_dir / "gan_curves.png", title="Stage 1 GAN per step")
        figures["Stage 1 GAN training"] = "gan_curves.png"
    first = next(iter(histories.values()))
    curves = {k: first[k] for k in ("loss", "triplet", "adversarial", "classification")}
    plots.plot_training_curves(curves, run_dir / "training_curves.png",
                               title="Stage 2 losses per step")
    figures["Stage 2 training losses"] = "training_curves.png"
    write_run_report(run_dir, metrics, config_to_dict(config), figures)
    (run_dir / "validation.json").write_text(json.dumps(
        {k: v["val_map"] for k, v in histories.items()}, indent=2))


def _retrieval_figure(run_dir, dataset, split, q_codes, db_codes, bits, figures) -> None:
    from dshgan.index import HammingIndex
    from dshgan.report import plots

    labels = dataset.labels
    q_ids = split.query
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
    retrieved = split.database[ids]
    relevant = (labels[retrieved] & labels[q_ids[shown]][:, None, :]).any(axis=2)
    plots.plot_retrieval_examples(
        dataset.images[q_ids[shown]], dataset.images[retrieved], relevant,
        run_dir / "retrieval_examples.png",
        query_labels=[", ".join(dataset.class_names[j] for j in np.flatnonzero(labels[q]))
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
