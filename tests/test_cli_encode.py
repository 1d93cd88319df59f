"""``dshgan encode``: codes of a folder, streamed, with the image names in row order."""

import numpy as np
import torch

from dshgan.cli import main
from dshgan.data.sources import read_image_folder
from dshgan.data.toy import make_toy_dataset
from dshgan.data.writers import write_image_folder
from dshgan.model_io import load_trained_model
from dshgan.train.encoding import encode_images


def test_encode_writes_codes_and_names_and_skips_a_broken_image(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", "demo", "--dry-run", "--run-dir", str(run),
                 "--no-progress", "--bits", "16"]) == 0
    images = write_image_folder(make_toy_dataset(n_per_class=15, num_classes=2), tmp_path / "im")
    want = read_image_folder(images)
    broken = images / want.names[1]
    broken.write_bytes(broken.read_bytes()[:30])
    out = tmp_path / "codes.npy"
    assert main(["encode", str(run), "--images", str(images), "--bits", "16",
                 "--out", str(out)]) == 0
    names = (tmp_path / "codes.names.txt").read_text().split()
    assert names == [n for i, n in enumerate(want.names) if i != 1]
    net = load_trained_model(run, torch.device("cpu")).net_for(16)
    keep = [i for i in range(len(want)) if i != 1]
    reference = encode_images(net, want.images[keep], torch.device("cpu"))[16]
    assert np.array_equal(np.load(out), reference)
    assert "1 of 30 images could not be decoded" in capsys.readouterr().out
