"""The API for plugins is what ``elmcore`` exports: every plugin, first-party ones included,
imports from ``elmcore`` and nothing under it, and every exported name resolves."""

from __future__ import annotations

import ast
from pathlib import Path

import elmcore

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_TREES = ("plugins", "domains", "examples/elm-plugin-example/src")


def test_every_exported_name_resolves() -> None:
    for name in elmcore.__all__:
        assert getattr(elmcore, name) is not None, name


def test_plugins_import_only_the_public_api() -> None:
    found = []
    for tree in PLUGIN_TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            module = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(module):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("elmcore."):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
                elif isinstance(node, ast.ImportFrom) and node.module == "elmcore":
                    found += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name} is not exported"
                              for a in node.names if a.name not in elmcore.__all__]
                elif isinstance(node, ast.Import):
                    found += [f"{path.relative_to(ROOT)}:{node.lineno} import {a.name}"
                              for a in node.names if a.name.startswith("elmcore.")]
    assert found == [], "plugins reach into elmcore's internals:\n" + "\n".join(found)
