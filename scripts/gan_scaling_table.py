"""One stage-1 variant's generator metrics at each length it was trained to, as a Markdown table
with the GAN issue's targets checked: how far more steps move each figure, and whether any
length meets them (the GAN issue's part 2 asks for it within a 20-minute CPU stage 1).

Reads the ``levers-STEPS.json`` files that ``benchmarks/bench_gan_levers.py`` writes when a
variant is rerun with more ``--steps`` (scripts/gan_scaling.sh does that):

    python scripts/gan_scaling_table.py runs/gan-levers/proj32-hinge-scale
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

# The GAN issue's part 2: GAN-test (ImageNet probe) overall and in its lowest class, GAN-train
# on the validation images, intra-class diversity ratio in the lowest class.
TARGETS = {"GAN-test": 0.70, "lowest class": 0.40, "GAN-train": 0.45, "diversity": 0.8}


def lengths(folder: Path) -> list[dict]:
    """Every levers-STEPS.json in ``folder``, shortest run first."""
    found = []
    for path in folder.glob("levers-*.json"):
        if re.fullmatch(r"levers-\d+\.json", path.name):
            found.append(json.loads(path.read_text()))
    if not found:
        raise SystemExit(f"{folder}: no levers-STEPS.json (run benchmarks/bench_gan_levers.py "
                         "with --steps first)")
    return sorted(found, key=lambda r: r["steps"])


def figures(record: dict) -> dict:
    """The figures the targets read, and the rest of a lever row."""
    g = record["generator"]
    div = [v for v in g["diversity"]["per_class"] if v is not None]
    lowest = min(v for v in g["gan_test"]["per_class"] if v is not None)
    out = {"steps": record["steps"], "minutes": record.get("stage1_s"),
           "GAN-test": g["gan_test"]["overall"], "lowest class": lowest,
           "GAN-train": g["gan_train"]["overall"], "diversity": min(div),
           "diversity mean": sum(div) / len(div), "FID": g["fid"],
           "FID real": g["fid_real_vs_real"], "pixel": None, "pixel lowest": None}
    if out["minutes"] is not None:
        out["minutes"] /= 60
    pixel = record.get("pixel_probe")
    if pixel is not None:
        out["pixel"] = pixel["gan_test"]["overall"]
        out["pixel lowest"] = min(v for v in pixel["gan_test"]["per_class"] if v is not None)
    return out


def targets_met(f: dict) -> list[str]:
    return [name for name, target in TARGETS.items() if f[name] >= target]


def table(records: list[dict]) -> str:
    header = ("| steps | stage 1 min | GAN-test, ImageNet probe (lowest class) | GAN-test, "
              "pixel CNN (lowest class) | GAN-train | FID (real vs real) | diversity min / mean "
              "| targets met |")
    lines = [header,
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for record in records:
        f = figures(record)
        minutes = "?" if f["minutes"] is None else f"{f['minutes']:.1f}"
        pixel = "" if f["pixel"] is None else f"{f['pixel']:.3f} ({f['pixel lowest']:.2f})"
        met = targets_met(f)
        lines.append(
            f"| {f['steps']:,} | {minutes} | {f['GAN-test']:.3f} ({f['lowest class']:.2f}) | "
            f"{pixel} | {f['GAN-train']:.3f} | {f['FID']:.0f} ({f['FID real']:.0f}) | "
            f"{f['diversity']:.2f} / {f['diversity mean']:.2f} | "
            f"{'all' if len(met) == len(TARGETS) else ', '.join(met) or 'none'} |")
    lines.append("| target | | >= 0.70 (0.40) | | >= 0.45 | | >= 0.8 in every class | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="the variant's folder (OUT/NAME of the bench)")
    args = p.parse_args(argv)
    print(table(lengths(args.folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
