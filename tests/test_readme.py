"""The README's example must keep working."""

import re
from pathlib import Path


def test_readme_example_runs():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    match = re.search(r"## Example\n\n```python\n(.*?)```", text, re.S)
    assert match is not None, "README has no ## Example python block"
    exec(compile(match.group(1), "README.md", "exec"), {})
