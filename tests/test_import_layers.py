"""The design's rule that imports go one way (docs/design.md, "Imports go one way"), checked on
the source: every ``dshgan`` import of a lower package, at the top or inside a function."""

import ast
from pathlib import Path

import dshgan

SHARED = {"config", "io_utils", "image_tensors"}  # conventions any layer may use
# What each lower package may import besides itself and SHARED.
ALLOWED = {
    "data": set(),
    "nets": set(),
    "losses": set(),
    "baselines": set(),
    "index": set(),
    "metrics": {"nets", "data"},  # generative/: a frozen trunk to read features, and resizing
    "report": set(),
    "train": {"nets", "losses", "metrics", "distributed"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("dshgan.")}
    return found


def test_lower_packages_import_only_what_the_design_allows():
    root = Path(dshgan.__file__).parent
    wrong = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            extra = imported_packages(path) - allowed - SHARED - {package}
            wrong += [f"{path.relative_to(root)} imports dshgan.{name}" for name in sorted(extra)]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from dshgan.train.runtime import logger\n")
    assert imported_packages(module) == {"train"}
