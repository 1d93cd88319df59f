import json
import math

import numpy as np
import pytest

from dshgan.report.tables import (
    format_delta,
    map_table_markdown,
    read_csv,
    to_jsonable,
    write_csv,
    write_json,
)

BITS = [12, 24, 32, 48]


def test_markdown_exact_with_std_missing_paper_rows_and_delta():
    rows = {
        "DSH-GAN": {12: (0.781, 0.004), 24: np.float32(0.8), 32: None},
        "ITQ": {"12": 0.162, 24: np.float64(0.17)},
    }
    paper = {"DSH-GAN": {12: 0.81, 24: 0.81, 32: 0.812, 48: 0.81}, "ITQ": {12: 0.162}}
    text = map_table_markdown(rows, BITS, reference=paper, title="CIFAR-10 mAP",
                              compare=("DSH-GAN", "DSH-GAN"))
    assert text == (
        "**CIFAR-10 mAP**\n"
        "\n"
        "| Method | 12 bits | 24 bits | 32 bits | 48 bits |\n"
        "| :--- | ---: | ---: | ---: | ---: |\n"
        "| DSH-GAN | 0.781 ± 0.004 | 0.800 | – | – |\n"
        "| ITQ | 0.162 | 0.170 | – | – |\n"
        "| DSH-GAN (paper) | 0.810 | 0.810 | 0.812 | 0.810 |\n"
        "| ITQ (paper) | 0.162 | – | – | – |\n"
        "| Δ DSH-GAN (ours − paper) | -0.029 | -0.010 | – | – |\n"
    )


def test_markdown_without_reference_and_two_compare_pairs():
    rows = {"ours": {12: 0.5}, "itq": {12: 0.2}}
    plain = map_table_markdown(rows, [12], digits=2)
    assert plain == ("| Method | 12 bits |\n| :--- | ---: |\n| ours | 0.50 |\n| itq | 0.20 |\n")
    paper = {"DSH-GAN": {12: 0.45}, "ITQ": {12: 0.25}}
    text = map_table_markdown(rows, [12], reference=paper,
                              compare=[("ours", "DSH-GAN"), ("itq", "ITQ")])
    assert "| Δ ours − DSH-GAN (paper) | +0.050 |" in text
    assert "| Δ itq − ITQ (paper) | -0.050 |" in text


def test_markdown_escapes_pipes_and_never_prints_negative_zero():
    text = map_table_markdown({"a|b": {12: 0.3}}, [12], reference={"a|b": {12: 0.3}},
                              compare=("a|b", "a|b"))
    assert "| a\\|b | 0.300 |" in text
    assert "+0.000" in text and "-0.000" not in text
    assert format_delta(0.30001, 0.3) == "+0.000"
    assert format_delta(None, 0.3) == "–"
    assert format_delta((0.5, 0.1), 0.25) == "+0.250"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"rows": {"m": {12: 0.1}}, "bits": []}, ValueError),
        ({"rows": {"m": {12: 0.1}}, "bits": [12, 12]}, ValueError),
        ({"rows": {"m": {12: 0.1}}, "bits": [0]}, ValueError),
        ({"rows": {"m": {12: "high"}}, "bits": [12]}, TypeError),
        ({"rows": {"m": {12: (0.1, 0.2, 0.3)}}, "bits": [12]}, ValueError),
        ({"rows": {"m": {12: True}}, "bits": [12]}, TypeError),
        ({"rows": {"m": {"twelve": 0.1}}, "bits": [12]}, ValueError),
        ({"rows": {"m": {12: 0.1, "12": 0.2}}, "bits": [12]}, ValueError),
        ({"rows": {}, "bits": [12]}, ValueError),
        ({"rows": {"m": {12: 0.1}}, "bits": [12], "compare": ("m", "m")}, ValueError),
        ({"rows": {"m": {12: 0.1}}, "bits": [12], "reference": {"p": {12: 0.2}},
          "compare": ("m", "nope")}, ValueError),
        ({"rows": {"m": {12: 0.1}}, "bits": [12], "reference": {"p": {12: 0.2}},
          "compare": ("nope", "p")}, ValueError),
    ],
)
def test_markdown_rejects_bad_input(kwargs, error):
    with pytest.raises(error):
        map_table_markdown(**kwargs)


def test_csv_round_trip_with_numpy_values(tmp_path):
    rows = {
        "DSH-GAN": {12: (np.float32(0.78125), np.float64(0.0041)), 24: np.float64(1 / 3),
                    32: None},
        "ITQ, sign": {"12": np.float16(0.5), 24: 0.1 + 0.2, 48: np.int64(1)},
    }
    path = write_csv(rows, BITS, tmp_path / "map.csv")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "method,12,12_std,24,24_std,32,32_std,48,48_std"
    back, bits = read_csv(path)
    assert bits == BITS
    assert back == {
        "DSH-GAN": {12: (0.78125, 0.0041), 24: 1 / 3, 32: None, 48: None},
        "ITQ, sign": {12: 0.5, 24: 0.1 + 0.2, 32: None, 48: 1.0},
    }
    assert isinstance(back["DSH-GAN"][12], tuple)


def test_read_csv_rejects_foreign_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,12\nfoo,0.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="method"):
        read_csv(path)


def test_json_round_trip_with_numpy_scalars_and_arrays(tmp_path):
    obj = {
        "seed": np.int64(3),
        "map": np.float32(0.5),
        "flag": np.bool_(True),
        "curve": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "pr": (np.float64(0.25), 0.75),
        np.int64(12): {"nested": [np.uint8(7), np.arange(3.0)]},
        "nan": float("nan"),
    }
    path = write_json(obj, tmp_path / "sub" / "m.json")
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "seed": 3,') and text.endswith("\n")
    back = json.loads(text)
    assert back["seed"] == 3 and back["map"] == 0.5 and back["flag"] is True
    assert back["curve"] == [[1, 2], [3, 4]]
    assert back["pr"] == [0.25, 0.75]
    assert back["12"] == {"nested": [7, [0.0, 1.0, 2.0]]}
    assert math.isnan(back["nan"])


def test_to_jsonable_rejects_unknown_objects():
    with pytest.raises(TypeError, match="object"):
        to_jsonable({"x": object()})
    with pytest.raises(TypeError, match="key"):
        to_jsonable({(1, 2): 3})
