"""The README's Python code blocks run as written, in order, in one namespace.

A reader copies them into a notebook one after the other, so a later block may use what an
earlier one defined (``est``). The ```bash blocks (install and test commands) are not run. The
blocks run in a temporary directory, since they may write files (``est.save(...)``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# A fenced block opened by ```python at the start of a line, up to the next closing fence.
_PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", flags=re.DOTALL | re.MULTILINE)


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fenced blocks of ``markdown``, in order."""
    return _PYTHON_BLOCK.findall(markdown)


def test_python_blocks_are_found_and_other_languages_are_not():
    markdown = (
        "text\n```bash\npip install x\n```\n"
        "```python\na = 1\n```\n"
        "more\n```\nplain output\n```\n"
        "```python\nb = a + 1\nprint(b)\n```\n"
    )
    assert python_blocks(markdown) == ["a = 1\n", "b = a + 1\nprint(b)\n"]


@pytest.mark.slow
def test_readme_python_blocks_run_and_the_quoted_error_holds(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    # The notebook example, the torch model and what the README shows of them.
    assert any("AMFNORegressor" in block for block in blocks)
    assert any("from sklearn_amfno.nn import" in block for block in blocks)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    # The first block prints the test relative L2 error it quotes as "~0.07" (seeded fit).
    error = float(printed[0])
    assert 0.0 < error < 0.15
