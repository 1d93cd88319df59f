"""Result tables: methods x code lengths as markdown, CSV and JSON.

The paper's Table 2 (Qiu et al., SIGIR 2017) is methods x {12, 24, 32, 48} bits. We keep that
shape everywhere so that our numbers and the paper's can sit in one table, with a delta row that
says how far we are from the number we try to reproduce.

A cell is a float, a ``(mean, std)`` pair over seeds (rendered ``0.781 ± 0.004``) or ``None``
(not run; rendered ``–``). Row dicts are keyed by code length as ``int`` or, as they come back
from JSON, as a decimal ``str``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from dshgan.io_utils import atomic_write_text

Cell = float | tuple[float, float] | None
Rows = Mapping[str, Mapping[Any, Any]]

MISSING = "–"  # en dash: reads as "no number" and never as a minus sign
PAPER_SUFFIX = " (paper)"


# --------------------------------------------------------------------------- validation


def _check_bits(bits: Sequence[int]) -> list[int]:
    if isinstance(bits, (str, bytes)) or not isinstance(bits, Sequence):
        raise TypeError(f"bits must be a list of code lengths, got {type(bits).__name__}")
    out = []
    for b in bits:
        if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, np.integer)) or b <= 0:
            raise ValueError(f"bits must hold positive integers, got {b!r}")
        out.append(int(b))
    if not out:
        raise ValueError("bits is empty: give at least one code length")
    if len(set(out)) != len(out):
        raise ValueError(f"bits has duplicates: {out}")
    return out


def _number(x: Any, where: str) -> float:
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{where}: expected a number, got bool {x!r}")
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and np.issubdtype(x.dtype, np.number):
        return float(x)
    raise TypeError(f"{where}: expected a number, got {type(x).__name__} {x!r}")


def as_cell(value: Any, where: str = "value") -> Cell:
    """Normalise one table value to float, (mean, std) or None; anything else is an error."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        if len(value) != 2:
            raise ValueError(f"{where}: a (mean, std) pair needs 2 numbers, got {len(value)}")
        return (_number(value[0], where), _number(value[1], where))
    return _number(value, where)


def _bits_key(key: Any, where: str) -> int:
    if isinstance(key, (bool, np.bool_)):
        raise TypeError(f"{where}: code length key must be an int, got {key!r}")
    if isinstance(key, (int, np.integer)):
        return int(key)
    if isinstance(key, str) and key.strip().isdigit():
        return int(key)
    raise ValueError(f"{where}: code length key must be an int or a decimal string, got {key!r}")


def normalize_rows(rows: Rows, name: str = "rows") -> dict[str, dict[int, Cell]]:
    """``{method: {bits: value}}`` with int keys and normalised cells (see :func:`as_cell`)."""
    if not isinstance(rows, Mapping):
        raise TypeError(f"{name} must be a dict {{method: {{bits: value}}}}, got "
                        f"{type(rows).__name__}")
    out: dict[str, dict[int, Cell]] = {}
    for method, row in rows.items():
        if not isinstance(method, str):
            raise TypeError(f"{name}: method names must be str, got {method!r}")
        if not isinstance(row, Mapping):
            raise TypeError(f"{name}[{method!r}] must be a dict {{bits: value}}, got "
                            f"{type(row).__name__}")
        cells: dict[int, Cell] = {}
        for key, value in row.items():
            b = _bits_key(key, f"{name}[{method!r}]")
            if b in cells:
                raise ValueError(f"{name}[{method!r}] gives code length {b} twice")
            cells[b] = as_cell(value, f"{name}[{method!r}][{key!r}]")
        out[method] = cells
    return out


# --------------------------------------------------------------------------- markdown


def _mean(cell: Cell) -> float | None:
    if cell is None:
        return None
    return cell[0] if isinstance(cell, tuple) else cell


def format_cell(cell: Cell, digits: int = 3) -> str:
    """``0.781``, ``0.781 ± 0.004`` or ``–``."""
    if cell is None:
        return MISSING
    if isinstance(cell, tuple):
        return f"{cell[0]:.{digits}f} ± {cell[1]:.{digits}f}"
    return f"{cell:.{digits}f}"


def format_delta(ours: Cell, theirs: Cell, digits: int = 3) -> str:
    """Signed difference of means, ``+0.012`` / ``-0.029``; ``–`` when either side is missing."""
    a, b = _mean(ours), _mean(theirs)
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return MISSING
    d = round(a - b, digits)
    if d == 0:
        d = 0.0  # no "-0.000"
    return f"{d:+.{digits}f}"


def _escape(text: str) -> str:
    # A "|" in a method name would split the markdown cell.
    return text.replace("|", "\\|").replace("\n", " ")


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _check_compare(
    compare: tuple[str, str] | Sequence[tuple[str, str]] | None,
    ours: Mapping[str, Any],
    paper: Mapping[str, Any] | None,
) -> list[tuple[str, str]]:
    if compare is None:
        return []
    if paper is None:
        raise ValueError("compare needs reference (the paper's rows) to compare against")
    pairs: list = [compare] if (len(compare) == 2 and all(isinstance(c, str) for c in compare)) \
        else list(compare)
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and all(isinstance(c, str) for c in pair)):
            raise TypeError(f"compare must be (our_row, paper_row) or a list of them, got {pair!r}")
        if pair[0] not in ours:
            raise ValueError(f"compare: {pair[0]!r} is not one of our rows {sorted(ours)}")
        if pair[1] not in paper:
            raise ValueError(f"compare: {pair[1]!r} is not one of the paper rows {sorted(paper)}")
    return [(a, b) for a, b in pairs]


def map_table_markdown(
    rows: Rows,
    bits: list[int],
    reference: Rows | None = None,
    title: str | None = None,
    compare: tuple[str, str] | Sequence[tuple[str, str]] | None = None,
    digits: int = 3,
) -> str:
    """A markdown table, one row per method and one column per code length.

    ``reference`` rows (the paper's numbers) follow ours in the same table, each name marked
    ``(paper)``, so a column reads ours-then-theirs. ``compare=(our_row, paper_row)`` (or a list
    of such pairs) adds a ``Δ`` row per pair: our mean minus the paper's, with its sign.
    Returns the text, ending in a newline.
    """
    bits = _check_bits(bits)
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 10:
        raise ValueError(f"digits must be an int in [0, 10], got {digits!r}")
    ours = normalize_rows(rows, "rows")
    paper = normalize_rows(reference, "reference") if reference is not None else None
    pairs = _check_compare(compare, ours, paper)
    if not ours and not paper:
        raise ValueError("nothing to tabulate: rows is empty and no reference was given")

    lines = []
    if title:
        lines += [f"**{_escape(title)}**", ""]
    lines.append(_md_row(["Method"] + [f"{b} bits" for b in bits]))
    lines.append(_md_row([":---"] + ["---:"] * len(bits)))
    for method, cells in ours.items():
        lines.append(_md_row([_escape(method)] + [format_cell(cells.get(b), digits) for b in bits]))
    for method, cells in (paper or {}).items():
        label = _escape(method + PAPER_SUFFIX)
        lines.append(_md_row([label] + [format_cell(cells.get(b), digits) for b in bits]))
    for mine, theirs in pairs:
        label = (f"Δ {mine} (ours − paper)" if mine == theirs
                 else f"Δ {mine} − {theirs}{PAPER_SUFFIX}")
        deltas = [format_delta(ours[mine].get(b), paper[theirs].get(b), digits) for b in bits]
        lines.append(_md_row([_escape(label)] + deltas))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CSV


def write_csv(rows: Rows, bits: list[int], path: str | os.PathLike) -> Path:
    """Wide CSV: ``method, 12, 12_std, 24, 24_std, ...``; empty cells mean missing.

    Numbers are written with ``repr`` precision so :func:`read_csv` gives back the same floats.
    """
    bits = _check_bits(bits)
    table = normalize_rows(rows, "rows")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["method"]
    for b in bits:
        header += [str(b), f"{b}_std"]
    writer.writerow(header)
    for method, cells in table.items():
        line = [method]
        for b in bits:
            cell = cells.get(b)
            if cell is None:
                line += ["", ""]
            elif isinstance(cell, tuple):
                line += [repr(cell[0]), repr(cell[1])]
            else:
                line += [repr(cell), ""]
        writer.writerow(line)
    return atomic_write_text(path, buf.getvalue())


def read_csv(path: str | os.PathLike) -> tuple[dict[str, dict[int, Cell]], list[int]]:
    """Inverse of :func:`write_csv`: ``(rows, bits)``."""
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    if not table or not table[0] or table[0][0] != "method":
        raise ValueError(f"{path}: not a dshgan results CSV (first header cell must be 'method')")
    header = table[0]
    if (len(header) - 1) % 2:
        raise ValueError(f"{path}: expected pairs of '<bits>,<bits>_std' columns, got {header}")
    bits = []
    for i in range(1, len(header), 2):
        b, s = header[i], header[i + 1]
        if not b.isdigit() or s != f"{b}_std":
            raise ValueError(f"{path}: bad column pair {b!r}, {s!r}")
        bits.append(int(b))
    rows: dict[str, dict[int, Cell]] = {}
    for n, line in enumerate(table[1:], start=2):
        if len(line) != len(header):
            raise ValueError(f"{path}: line {n} has {len(line)} cells, header has {len(header)}")
        cells: dict[int, Cell] = {}
        for j, b in enumerate(bits):
            mean, std = line[1 + 2 * j], line[2 + 2 * j]
            if mean == "":
                cells[b] = None
            elif std == "":
                cells[b] = float(mean)
            else:
                cells[b] = (float(mean), float(std))
        rows[line[0]] = cells
    return rows, bits


# --------------------------------------------------------------------------- JSON


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, tuples, paths, sets and dataclasses.

    Dict keys become str/int/float/bool/None (numpy integer keys turn into ints, which JSON then
    writes as strings, e.g. ``{"12": ...}``).
    """
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, PurePath):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            key = k.item() if isinstance(k, np.generic) else k
            if isinstance(key, PurePath):
                key = str(key)
            if not (key is None or isinstance(key, (str, int, float, bool))):
                raise TypeError(f"cannot write dict key {k!r} ({type(k).__name__}) to JSON")
            out[key] = to_jsonable(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(to_jsonable(v) for v in obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON: {obj!r}")


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Atomic, indent 2, UTF-8; numpy values converted by :func:`to_jsonable`.

    NaN and inf are written as Python's ``NaN``/``Infinity`` (what ``json.load`` reads back).
    """
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False)
    return atomic_write_text(path, text + "\n")
