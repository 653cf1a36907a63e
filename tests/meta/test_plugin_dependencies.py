"""Each first-party plugin imports, besides ``elmcore``, only the packages docs/architecture.md
says it builds on: the table there is the declaration, and this test holds the code to it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("elm_mapelites", "elm_gp", "elm_llm", "elm_parity", "elm_sodarace", "elm_compare", "elm_train",
               "elm_ppo", "elm_report", "elm_seeds", "elm_models")


def declared() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The first-party plugins and what they build on", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`elm_"):
            table[cells[0].strip("`")] = set(re.findall(r"`(elm_[a-z_]+)`", cells[2]))
    return table


def imported(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found.update(n.split(".")[0] for n in names)
    return found & set(FIRST_PARTY)


def test_every_plugin_imports_only_what_it_is_declared_to_build_on() -> None:
    table = declared()
    packages = {p.name: p for tree in ("plugins", "domains") for p in (ROOT / tree).iterdir()
                if (p / "__init__.py").exists()}
    assert set(packages) == set(table), "docs/architecture.md's table names every first-party plugin package"
    undeclared = {name: sorted(imported(path) - table[name] - {name}) for name, path in packages.items()}
    assert not any(undeclared.values()), {k: v for k, v in undeclared.items() if v}
    unused = {name: sorted(table[name] - imported(path)) for name, path in packages.items()}
    assert not any(unused.values()), f"declared but not imported: {unused}"
