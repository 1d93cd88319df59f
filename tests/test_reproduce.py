"""`dshgan reproduce` on tiny data: the whole table, resumption, and the multi-label path."""

import json
import shutil

import numpy as np
import pytest

from dshgan import reproduce as reproduce_module
from dshgan.config import load_config
from dshgan.data import ImageDataset, load_dataset, make_mosaic_multilabel, make_toy_dataset
from dshgan.data.protocols import Protocol
from dshgan.data.writers import write_list_dataset
from dshgan.dry_run import dry_run_setup
from dshgan.report.training_time import training_minutes
from dshgan.reproduce import reproduce


def tiny(protocol_name="cifar10", **overrides):
    config, _, _ = dry_run_setup(load_config(protocol_name, {"device": "cpu"}))
    assert config.evaluation.deep_baselines == ("dpsh", "dtsh")
    config = config.__class__(**{**config.__dict__, "hashing": config.hashing.__class__(
        **{**config.hashing.__dict__, "bits": (12, 48), **overrides})})
    return config


def single_label_protocol():
    return Protocol("tiny", query_per_class=2, labelled_per_class=6, validation_per_class=1,
                    labelled_in_database=False, topk=None, multi_label=False, description="")


def test_whole_table_then_resume_without_retraining(tmp_path, monkeypatch):
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    kwargs = {"bits": (12, 48), "progress": False, "config": tiny(), "dataset": dataset,
                  "protocol": single_label_protocol()}
    results = reproduce("cifar10", tmp_path, **kwargs)
    table = results["table"]
    for method in ("DSH-GAN", "LSH", "PCAH", "ITQ", "SH", "SDH", "DPSH", "DTSH"):
        assert set(table[method]) == {"12", "48"}, method
        assert 0 <= table[method]["48"]["map"] <= 1
    for ablation in reproduce_module.ABLATIONS:
        assert set(table[ablation]) == {"48"}
    md = (tmp_path / "results.md").read_text()
    assert "DSH-GANs (paper)" in md and "0.802" in md and "Ablations at 48 bits" in md
    # Each row's training time beside its mAP (the claim is tested at equal wall time).
    for method in ("DSH-GAN", "DPSH"):
        assert table[method]["48"]["runs"][0]["train_s"] is not None
        assert f"| {method} | " in md.split("**Training time**")[1]
    assert table["DSH-GAN"]["48"]["runs"][0]["stage1_s"] is not None
    assert (tmp_path / "pr_curve_48bits.png").exists()
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["table"]["DSH-GAN"]["12"]["map"] == table["DSH-GAN"]["12"]["map"]

    def must_not_train(*args, **kwargs):
        raise AssertionError("a finished unit was trained again")

    monkeypatch.setattr(reproduce_module, "train_hashing", must_not_train)
    monkeypatch.setattr(reproduce_module, "train_deep_baseline", must_not_train, raising=False)
    # DPSH units written before they said their code lengths share one trunk count it once.
    for unit in (tmp_path / "seed0" / "results").glob("DPSH_*.json"):
        unit.write_text(json.dumps({k: v for k, v in json.loads(unit.read_text()).items()
                                    if k != "shared_trunk"}))
    again = reproduce("cifar10", tmp_path, **kwargs)
    assert again["table"]["DSH-GAN"]["48"]["map"] == table["DSH-GAN"]["48"]["map"]
    dpsh_s = table["DPSH"]["48"]["runs"][0]["train_s"]
    assert dpsh_s > 0
    assert training_minutes(again["table"])["DPSH"]["train"] == pytest.approx(dpsh_s / 60)

    # The finished units alone, carried to another folder without any checkpoint (another
    # machine, say): the table comes back without training anything, stage 1 included.
    monkeypatch.setattr(reproduce_module, "train_gan", must_not_train)
    carried = tmp_path / "carried"
    shutil.copytree(tmp_path / "seed0" / "results", carried / "seed0" / "results")
    moved = reproduce("cifar10", carried, **kwargs)
    assert moved["table"] == again["table"]


def test_two_seeds_give_mean_and_std(tmp_path):
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    results = reproduce("cifar10", tmp_path, seeds=(0, 1), bits=(12, 48), progress=False,
                        config=tiny(), dataset=dataset, protocol=single_label_protocol(),
                        ablations=False, baselines=False)
    cell = results["table"]["DSH-GAN"]["12"]
    assert cell["seeds"] == [0, 1]
    maps = [r["map"] for r in cell["runs"]]
    assert cell["map"] == pytest.approx(np.mean(maps))
    assert cell["map_std"] == pytest.approx(np.std(maps))


@pytest.mark.parametrize("every_seed", [False, True])
def test_baselines_run_on_the_first_seed_or_on_every_seed(tmp_path, every_seed):
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    config = tiny()
    config = config.__class__(**{**config.__dict__, "evaluation": config.evaluation.__class__(
        **{**config.evaluation.__dict__, "baselines": ("lsh",), "deep_baselines": ("dpsh",)})})
    results = reproduce("cifar10", tmp_path, seeds=(0, 1), bits=(12,), progress=False,
                        config=config, dataset=dataset, protocol=single_label_protocol(),
                        ablations=False, baselines_every_seed=every_seed)
    table = results["table"]
    expected = [0, 1] if every_seed else [0]
    assert table["DSH-GAN"]["12"]["seeds"] == [0, 1]
    assert table["DPSH"]["12"]["seeds"] == expected and table["LSH"]["12"]["seeds"] == expected
    maps = [r["map"] for r in table["DPSH"]["12"]["runs"]]
    assert table["DPSH"]["12"]["map"] == pytest.approx(np.mean(maps))


def test_multi_label_path_from_list_files(tmp_path):
    """NUS-WIDE's path (list files, shared-label relevance, mAP@k) on 2x2 mosaics."""
    mosaics = make_mosaic_multilabel(make_toy_dataset(n_per_class=10, num_classes=8), 160)
    mosaics = ImageDataset(mosaics.images, mosaics.labels, mosaics.class_names,
                           [f"{n}.png" for n in mosaics.names], multi_label=True)
    list_dir = tmp_path / "lists"
    write_list_dataset(mosaics, list_dir / "all.txt", tmp_path / "images")
    protocol = Protocol("tiny-multi", query_per_class=2, labelled_per_class=6,
                        validation_per_class=2, labelled_in_database=False, topk=20,
                        multi_label=True, description="")
    config = tiny("nuswide21", shared_trunk=False)
    config = config.__class__(**{**config.__dict__, "data": config.data.__class__(
        **{**config.data.__dict__, "image_size": 32})})
    results = reproduce("nuswide21", tmp_path / "out", list_dir=str(list_dir),
                        image_root=str(tmp_path / "images"), bits=(12, 48), progress=False,
                        config=config, protocol=protocol, ablations=False)
    assert load_dataset(None, list_dir=list_dir, image_root=tmp_path / "images").multi_label
    assert results["table"]["DSH-GAN"]["48"]["runs"][0]["topk"] == 20
    assert set(results["table"]) >= {"DSH-GAN", "SDH", "DPSH", "DTSH"}
    assert "0.863" in (tmp_path / "out" / "results.md").read_text()  # the paper's NUS-WIDE row


def test_self_training_adds_the_paper_method_row_and_ablations_compare_with_it(tmp_path):
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    config = tiny(self_training_rounds=1, self_training_epochs=1, pseudo_label_threshold=0.5)
    results = reproduce("cifar10", tmp_path, bits=(12, 48), progress=False, config=config,
                        dataset=dataset, protocol=single_label_protocol(), baselines=False)
    table = results["table"]
    assert set(table["DSH-GAN w/o self-training"]) == set(table["DSH-GAN"]) == {"12", "48"}
    run = table["DSH-GAN"]["48"]["runs"][0]
    assert [r["round"] for r in run["self_training"]] == [0, 1]
    # Ablations leave self-training out, so their reference is the paper's method.
    assert results["config"]["hashing"]["self_training_rounds"] == 1
    for ablation in reproduce_module.ABLATIONS:
        assert [r["round"] for r in table[ablation]["48"]["runs"][0]["self_training"]] == [0]
    md = (tmp_path / "results.md").read_text()
    assert "DSH-GAN w/o self-training (all parts)" in md


def test_rows_trains_only_the_named_rows_and_still_reports_finished_ones(tmp_path):
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    kwargs = {"bits": (12, 48), "progress": False, "config": tiny(), "dataset": dataset,
              "protocol": single_label_protocol()}
    first = reproduce("cifar10", tmp_path, rows=("generator frozen", "ITQ"), **kwargs)
    assert set(first["table"]) == {"generator frozen", "ITQ"}
    second = reproduce("cifar10", tmp_path, rows=("DSH-GAN",), **kwargs)
    assert set(second["table"]) == {"generator frozen", "ITQ", "DSH-GAN"}
    assert (second["table"]["generator frozen"]["48"]["map"]
            == first["table"]["generator frozen"]["48"]["map"])
    assert "Ablations at 48 bits" in (tmp_path / "results.md").read_text()
    with pytest.raises(ValueError, match="unknown row"):
        reproduce("cifar10", tmp_path, rows=("w/o everything",), **kwargs)


def test_real_triplet_config_skips_the_gan_and_is_named_as_ours(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce_module, "train_gan",
                        lambda *a, **k: pytest.fail("real triplets need no stage 1"))
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    results = reproduce("cifar10", tmp_path, bits=(12, 48), progress=False,
                        config=tiny(use_synthetic=False, use_adversary_stream=False),
                        dataset=dataset, protocol=single_label_protocol(), ablations=False,
                        baselines=False)
    assert set(results["table"]) == {reproduce_module.REAL_TRIPLETS}
    md = (tmp_path / "results.md").read_text()
    assert "real-triplet hashing" in md and "DSH-GANs (paper)" in md and "Δ" in md
    assert "**Validation**" in md and "| real-triplet hashing | 0." in md


def test_validation_summary_means_lengths_then_seeds():
    def run(seed, val, loo):
        return {"seed": seed, "best_val_map": val, "best_val_map_loo": loo}

    table = {
        # a shared trunk: one value per seed, repeated at every length
        "ours": {"12": {"runs": [run(0, 0.8, 0.7), run(1, 0.6, 0.5)]},
                 "48": {"runs": [run(0, 0.8, 0.7), run(1, 0.6, 0.5)]}},
        # one net per length, one seed, an old run without the leave-one-out view
        "per length": {"12": {"runs": [run(0, 0.2, None)]}, "48": {"runs": [run(0, 0.4, None)]}},
        "LSH": {"12": {"runs": [{"seed": 0}]}},  # no validation at all
    }
    got = reproduce_module.validation_summary(table)
    assert set(got) == {"ours", "per length"}
    assert got["ours"]["best_val_map"] == pytest.approx((0.7, 0.1, 2))
    assert got["ours"]["best_val_map_loo"] == pytest.approx((0.6, 0.1, 2))
    assert got["per length"] == {"best_val_map": pytest.approx((0.3, None, 1))}
    lines = "\n".join(reproduce_module._validation_lines(table))
    assert "| ours | 0.7000 ± 0.1000 (2) | 0.6000 ± 0.1000 (2) |" in lines
    assert "| per length | 0.3000 (1) | — |" in lines


def test_validation_only_trains_without_touching_queries_then_evaluation_resumes(
        tmp_path, monkeypatch):
    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    kwargs = {"bits": (12, 48), "progress": False, "dataset": dataset,
              "protocol": single_label_protocol(), "ablations": True, "baselines": True,
              "config": tiny(use_synthetic=False, use_adversary_stream=False,
                             weight_average_decay=0.9, labelled_augment="strong")}

    def no_queries(*args, **kwargs):
        raise AssertionError("validation-only encoded the test queries")

    with monkeypatch.context() as patch:
        patch.setattr(reproduce_module, "_evaluate_net", no_queries)
        patch.setattr(reproduce_module, "_run_baselines", no_queries)
        assert reproduce("cifar10", tmp_path, validation_only=True, **kwargs) == {}
    checkpoints = sorted(p.name for p in (tmp_path / "seed0" / "checkpoints").glob("*.pt"))
    assert len(checkpoints) == 1  # the main method only: no ablation was trained
    assert not (tmp_path / "results.json").exists()
    checkpoint = tmp_path / "seed0" / "checkpoints" / checkpoints[0]
    trained = checkpoint.read_bytes()

    kwargs.update(ablations=False, baselines=False)  # the resumed run evaluates the kept net
    table = reproduce("cifar10", tmp_path, **kwargs)["table"]
    assert set(table[reproduce_module.REAL_TRIPLETS]) == {"12", "48"}
    assert checkpoint.read_bytes() == trained  # a finished checkpoint is not trained further


def test_each_seed_saves_a_model_that_encodes_like_the_table(tmp_path):
    """seedN/model.pt is the main row's net: loading it gives the codes that were scored."""
    import torch

    from dshgan.model_io import load_trained_model
    from dshgan.train.encoding import encode_images

    dataset = make_toy_dataset(n_per_class=30, num_classes=4)
    reproduce("cifar10", tmp_path, bits=(12, 48), progress=False, config=tiny(),
              dataset=dataset, protocol=single_label_protocol(), ablations=False,
              baselines=False)
    model = load_trained_model(tmp_path / "seed0", torch.device("cpu"))
    assert model.bits == [12, 48] and model.generator is not None
    assert model.class_names == dataset.class_names
    from dshgan.data import make_split

    split = make_split(dataset, single_label_protocol(), seed=0)
    codes = encode_images(model.net_for(48), dataset.images[split.query], torch.device("cpu"))
    unit = json.loads((tmp_path / "seed0" / "results" / "DSH-GAN_48.json").read_text())
    from dshgan.metrics import mean_average_precision

    db = encode_images(model.net_for(48), dataset.images[split.database], torch.device("cpu"))
    again = mean_average_precision(codes[48], dataset.labels[split.query], db[48],
                                   dataset.labels[split.database])
    assert again == pytest.approx(unit["map"])
