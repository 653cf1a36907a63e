"""docs/plugins.md stays complete and correct: a section per hook, code that parses, links
that resolve."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from declared_hooks import declared_hooks

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def guide_text() -> str:
    assert GUIDE.is_file(), f"{GUIDE} is missing"
    return GUIDE.read_text(encoding="utf-8")


def headings(text: str) -> list[str]:
    return re.findall(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.MULTILINE)


@pytest.mark.parametrize("hook_name", sorted(declared_hooks()))
def test_every_hook_has_a_section(hook_name):
    matching = [h for h in headings(guide_text()) if re.search(rf"\b{hook_name}\b", h)]
    assert matching, f"docs/plugins.md has no heading naming the hook {hook_name}; add a section to the hook reference"


def test_no_section_names_a_hook_that_does_not_exist():
    named = {m for h in headings(guide_text()) for m in re.findall(r"\belm_register_\w+", h)}
    assert named <= declared_hooks(), f"sections for undeclared hooks: {sorted(named - declared_hooks())}"


def test_python_examples_parse():
    blocks = re.findall(r"```python\n(.*?)```", guide_text(), flags=re.DOTALL)
    assert blocks, "the guide has no python examples"
    for block in blocks:
        ast.parse(block)


def test_relative_links_resolve():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", guide_text())
    local = [link for link in links if "://" not in link]
    assert local, "the guide links to nothing in the repository"
    missing = [link for link in local if not (GUIDE.parent / link).exists()]
    assert not missing, f"links in docs/plugins.md to missing files: {missing}"
