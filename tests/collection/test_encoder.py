"""Encoder: the same codes as training's encode_images on the same decoded arrays, whatever
form the images come in; its fingerprint names the model."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from dshgan.collection import Encoder, list_images
from dshgan.data.images import decode_image
from dshgan.model_io import load_trained_model
from dshgan.train.encoding import encode_images


@pytest.fixture(scope="module")
def encoder(run_dir):
    return Encoder.from_run(run_dir, device="cpu")


def test_from_run_defaults_and_fingerprint(encoder, run_dir):
    assert encoder.bits == 48 and encoder.image_size == (32, 32)
    fp = encoder.fingerprint
    assert fp == {"run": run_dir.name, "bits": 48, "image_size": [32, 32],
                  "model_sha256": hashlib.sha256((run_dir / "model.pt").read_bytes()).hexdigest()}
    short = Encoder.from_run(run_dir, bits=12, device="cpu")
    assert short.bits == 12 and short.fingerprint["bits"] == 12
    with pytest.raises(ValueError, match="no 20-bit codes"):
        Encoder.from_run(run_dir, bits=20, device="cpu")
    with pytest.raises(FileNotFoundError, match="model.pt"):
        Encoder.from_run(run_dir.parent / "missing", device="cpu")


def test_codes_equal_encode_images_for_every_input_form(encoder, run_dir, images):
    files = [images / f for f in list_images(images)]
    decoded = np.stack([decode_image(f.read_bytes(), str(f), (32, 32)) for f in files])
    model = load_trained_model(run_dir, torch.device("cpu"))
    want = encode_images(model.net_for(48), decoded, torch.device("cpu"))[48]
    assert want.shape == (24, 48) and set(np.unique(want)) <= {0, 1}
    np.testing.assert_array_equal(encoder.encode([str(f) for f in files]), want)
    np.testing.assert_array_equal(encoder.encode(files), want)  # Path objects
    np.testing.assert_array_equal(encoder.encode(decoded), want)  # one (n, H, W, 3) array
    np.testing.assert_array_equal(encoder.encode(list(decoded)), want)
    pil = [Image.open(f) for f in files]
    np.testing.assert_array_equal(encoder.encode(pil), want)
    # arrays at the file's own size are resized like the decoder resizes the file
    raw = [np.array(Image.open(f).convert("RGB")) for f in files]
    assert raw[0].shape == (20, 24, 3)
    np.testing.assert_array_equal(encoder.encode(raw), want)
    # one at a time: the codes do not depend on the batch
    one_by_one = np.concatenate([encoder.encode([f]) for f in files[:6]])
    np.testing.assert_array_equal(one_by_one, want[:6])


def test_grey_and_palette_images_are_converted_like_training(encoder, tmp_path, helpers):
    img = helpers.draw(7)
    for mode in ("L", "P", "RGBA"):
        path = tmp_path / f"x_{mode}.png"
        img.convert(mode).save(path)
        decoded = decode_image(path.read_bytes(), str(path), (32, 32))
        np.testing.assert_array_equal(encoder.encode([path]), encoder.encode(decoded[None]))
        np.testing.assert_array_equal(encoder.encode([Image.open(path)]),
                                      encoder.encode(decoded[None]))


def test_bad_inputs(encoder, tmp_path):
    with pytest.raises(TypeError, match="wrap a single image in a list"):
        encoder.encode(str(tmp_path / "a.png"))
    with pytest.raises(ValueError, match="uint8"):
        encoder.encode(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        encoder.encode([np.zeros((32, 32), np.uint8)])
    with pytest.raises(TypeError, match="cannot encode a int"):
        encoder.encode([3])
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really")
    with pytest.raises(ValueError, match="bad.jpg"):
        encoder.encode([bad])
    assert encoder.encode([]).shape == (0, 48)
