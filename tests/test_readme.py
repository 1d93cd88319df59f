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


def _strip_fences(markdown: str) -> str:
    return re.sub(r"^```.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: the heading's text (code spans and link texts kept), lower case,
    punctuation dropped, spaces to hyphens, "-1", "-2"... for repeats."""
    anchors, seen = set(), {}
    for line in _strip_fences(markdown).splitlines():
        m = re.match(r"#{1,6} (.*)", line)
        if not m:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.replace("`", "").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_relative_links_point_to_existing_files_and_headings():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for page in pages:
        text = re.sub(r"`[^`\n]*`", "", _strip_fences(page.read_text()))  # links outside code
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}: {target}"
            if not dest.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text()):
                broken.append(f"{where} (no such heading)")
    assert not broken, "\n".join(broken)


def test_code_and_configs_point_to_existing_docs_and_sections():
    """`docs/x.md, "Name"` in code, configs and scripts: the file exists, and so does a heading
    containing Name (how code points into docs/design.md and the experiment log)."""
    files = [p for d in ("src", "benchmarks", "scripts") for p in (ROOT / d).rglob("*")
             if p.suffix in (".py", ".yaml") and p.is_file()]
    broken = []
    for f in files:
        text = re.sub(r"\s*\n\s*#?\s*", " ", f.read_text())  # references may wrap lines
        for path, name in re.findall(r"(docs/[\w./-]+\.md)(?:,? \"([^\"]+)\")?", text):
            doc = ROOT / path
            if not doc.exists():
                broken.append(f"{f.relative_to(ROOT)}: {path}")
            elif name and not re.search(rf"^#+ .*{re.escape(name)}", doc.read_text(),
                                        flags=re.MULTILINE | re.IGNORECASE):
                broken.append(f"{f.relative_to(ROOT)}: {path}, \"{name}\"")
    assert not broken, "\n".join(broken)
