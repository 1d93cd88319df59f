"""The generator metrics as markdown lines: for ``dshgan gan-eval`` and a run's report.md."""

from __future__ import annotations


def _f(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def report_lines(result: dict, class_names: list[str] | None = None) -> list[str]:
    """A summary table and a per-class table of one ``evaluate_generator`` result, with the
    pixel classifier's GAN-test (``pixel_gan_test``) where the result holds it under
    ``pixel_probe``."""
    s, score = result["sizes"], result["score"]
    on = result["gan_train_on"]
    pixel = result.get("pixel_probe")
    lines = [f"Features: {result['features']}. Classifier: {result['classifier']}."]
    if pixel:
        lines.append(f"Pixel classifier (independent of the features): {pixel['classifier']}.")
    lines += [
        "",
        "| metric | value | reference |", "| --- | --- | --- |",
        (f"| GAN-test ({score} of the real-trained classifier on {s['synthetic']} synthetic "
         f"images) | {_f(result['gan_test']['overall'])} | {_f(result['real_classifier']['overall'])}"
         f" on real {on} images |"),
    ]
    if pixel:
        lines.append(
            f"| GAN-test, pixel classifier (accuracy on {pixel['sizes']['synthetic']} synthetic "
            f"images) | {_f(pixel['gan_test']['overall'])} | "
            f"{_f(pixel['real_classifier']['overall'])} on real {pixel['real_classifier_on']} "
            "images |")
    lines += [
        (f"| GAN-train ({score} on {s[on]} real {on} images of a classifier trained on the "
         f"synthetic images) | {_f(result['gan_train']['overall'])} | "
         f"{_f(result['real_classifier']['overall'])} trained on {s['real_train']} real |"),
        (f"| FID ({s['fid_each_side']} images a side; not comparable with Inception FIDs) | "
         f"{_f(result['fid'], 2)} | {_f(result['fid_real_vs_real'], 2)} real vs real |"),
        (f"| intra-class diversity, synthetic / real (lowest class) | "
         f"{_f(result['diversity']['min'])} | 1 = as diverse as the real images |"),
        "",
    ]
    d = result["diversity"]
    names = class_names or [str(c) for c in range(len(d["per_class"]))]
    extra = " GAN-test, pixel | pixel classifier, real |" if pixel else ""
    lines += ["| class | GAN-test | GAN-train | real classifier | diversity ratio |" + extra,
              "| --- | --- | --- | --- | --- |" + (" --- | --- |" if pixel else "")]
    for c, name in enumerate(names):
        row = (f"| {name} | {_f(result['gan_test']['per_class'][c])} | "
               f"{_f(result['gan_train']['per_class'][c])} | "
               f"{_f(result['real_classifier']['per_class'][c])} | "
               f"{_f(d['per_class'][c])} |")
        if pixel:
            row += (f" {_f(pixel['gan_test']['per_class'][c])} | "
                    f"{_f(pixel['real_classifier']['per_class'][c])} |")
        lines.append(row)
    return lines + [""]
