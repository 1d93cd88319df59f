"""The README's examples run, and CI runs the README's test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own README
    printed = [float(x) for x in capsys.readouterr().out.split()]
    assert printed and all(0.5 < x <= 1 for x in printed)  # clustered codes retrieve well


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)[0].strip().splitlines()
    assert len(commands) == 2 and "dshgan demo" in commands[0]
    install_and_test = commands[1].split(". .venv/bin/activate && ", 1)[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_test.split(" && ")[0] in ci  # the same pip install line
    assert "python -m pytest" in ci
