"""The shared interface, checked on every registered baseline."""

import numpy as np
import pytest

from dshgan.baselines import HashingBaseline, create_baseline, list_baselines, register_baseline

NAMES = list_baselines()


def _data(n=200, d=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    centers = rng.standard_normal((4, d)) * 2.0
    return centers[labels] + rng.standard_normal((n, d)), np.eye(4, dtype=np.uint8)[labels]


def test_registry_lists_all_five():
    assert NAMES == ["itq", "lsh", "pcah", "sdh", "sh"]
    for name in NAMES:
        model = create_baseline(name, bits=8)
        assert isinstance(model, HashingBaseline) and model.name == name and model.bits == 8
    assert create_baseline("sdh", 8).supervised
    assert not any(create_baseline(n, 8).supervised for n in NAMES if n != "sdh")


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="unknown baseline 'nope'.*itq.*lsh.*pcah.*sdh.*sh"):
        create_baseline("nope", bits=8)


def test_duplicate_registration_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register_baseline("lsh")(type("Fake", (), {}))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bits", [1, 12, 32])
def test_codes_are_binary_uint8_of_the_right_shape(name, bits):
    x, y = _data()
    model = create_baseline(name, bits=bits, seed=3)
    assert model.fit(x, y) is model
    codes = model.encode(x[:37])
    assert codes.shape == (37, bits) and codes.dtype == np.uint8
    assert set(np.unique(codes)) <= {0, 1}
    np.testing.assert_array_equal(codes, model.project(x[:37]) > 0)


@pytest.mark.parametrize("name", NAMES)
def test_128_bits(name):
    x, y = _data(n=300, d=160)
    codes = create_baseline(name, bits=128).fit(x, y).encode(x)
    assert codes.shape == (300, 128)
    # No bit may be constant over the training set: every bit must carry information.
    assert (codes.min(0) == 0).all() and (codes.max(0) == 1).all()


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_given_seed(name):
    x, y = _data()
    a = create_baseline(name, 16, seed=5).fit(x, y).encode(x)
    b = create_baseline(name, 16, seed=5).fit(x, y).encode(x)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["lsh", "itq", "sdh"])
def test_seed_matters_for_randomised_methods(name):
    x, y = _data()
    a = create_baseline(name, 16, seed=0).fit(x, y).encode(x)
    b = create_baseline(name, 16, seed=1).fit(x, y).encode(x)
    assert (a != b).any()


@pytest.mark.parametrize("name", NAMES)
def test_encode_before_fit_is_refused(name):
    with pytest.raises(RuntimeError, match="not fitted"):
        create_baseline(name, 8).encode(np.zeros((3, 4)))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_feature_width_is_refused(name):
    x, y = _data(d=40)
    model = create_baseline(name, 8).fit(x, y)
    with pytest.raises(ValueError, match="39 columns.*fitted on 40"):
        model.encode(x[:, :39])


@pytest.mark.parametrize("name", NAMES)
def test_bad_features_are_refused(name):
    x, y = _data()
    model = create_baseline(name, 8)
    with pytest.raises(ValueError, match="2-D"):
        model.fit(x[0], y)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, y)
    with pytest.raises(TypeError, match="dtype"):
        model.fit(x.astype(str), y)
    with pytest.raises(ValueError, match="at least 2"):
        model.fit(x[:1], y[:1])


@pytest.mark.parametrize("bits", [0, -3, 2.5, True])
def test_bad_bits_are_refused(bits):
    with pytest.raises(ValueError, match="bits"):
        create_baseline("lsh", bits=bits)


def test_supervised_labels_are_checked():
    x, y = _data()
    model = create_baseline("sdh", 8)
    with pytest.raises(ValueError, match="needs labels"):
        model.fit(x)
    with pytest.raises(ValueError, match="rows"):
        model.fit(x, y[:-1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        model.fit(x, y * 2)
    # Class ids are accepted and mean the same as their one-hot matrix.
    a = create_baseline("sdh", 8).fit(x, y.argmax(1)).encode(x)
    b = create_baseline("sdh", 8).fit(x, y).encode(x)
    np.testing.assert_array_equal(a, b)


def test_unsupervised_methods_ignore_labels():
    x, y = _data()
    for name in ["lsh", "pcah", "itq", "sh"]:
        a = create_baseline(name, 8).fit(x).encode(x)
        b = create_baseline(name, 8).fit(x, y).encode(x)
        np.testing.assert_array_equal(a, b)
