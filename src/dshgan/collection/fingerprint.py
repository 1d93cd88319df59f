"""Which model made a set of codes: codes from different models (or code lengths) are not
comparable, so an index records its model's fingerprint and refuses codes from any other."""

from __future__ import annotations

import hashlib
from pathlib import Path

# The fields that decide the codes. The run folder's name is recorded too, but only to name the
# model in messages: a run folder that was moved or renamed still encodes the same codes.
IDENTITY = ("model_sha256", "bits", "image_size")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def model_fingerprint(run_dir: str | Path, bits: int, image_size: tuple[int, int]) -> dict:
    """{"run", "bits", "image_size", "model_sha256"} of ``run_dir``'s model.pt at ``bits``."""
    run_dir = Path(run_dir)
    return {"run": run_dir.resolve().name, "bits": int(bits),
            "image_size": [int(image_size[0]), int(image_size[1])],
            "model_sha256": file_sha256(run_dir / "model.pt")}


def check_same_model(expected: dict, got: dict, what: str) -> None:
    """Raise ValueError naming the difference when ``got`` would make codes unlike ``expected``.

    ``what`` names the thing holding ``expected`` (e.g. the index file) for the message.
    """
    if int(got["bits"]) != int(expected["bits"]):
        raise ValueError(f"{what} holds {expected['bits']}-bit codes but the query/encoder gives "
                         f"{got['bits']}-bit codes: use the same code length "
                         f"(--bits {expected['bits']})")
    if list(got["image_size"]) != list(expected["image_size"]):
        raise ValueError(f"{what} was encoded at {expected['image_size']} px, this encoder "
                         f"decodes at {got['image_size']} px")
    if got["model_sha256"] != expected["model_sha256"]:
        raise ValueError(
            f"{what} was made with another model (run {expected['run']!r}, model.pt sha256 "
            f"{expected['model_sha256'][:12]}...) than this one (run {got['run']!r}, sha256 "
            f"{got['model_sha256'][:12]}...): codes of different models cannot be mixed")
