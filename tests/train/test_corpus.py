"""`elm dataset code`: a corpus from a tree made here: the licence filter, exact and near
duplicates, the parse, size and UTF-8 filters, the held-out split by file, long files cut
at top-level definitions, the manifest; and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elm_train.corpus import build_corpus, split_top_level
from elm_train.licences import classify, expression_permissive
from train_cli import elm, error_line

MIT = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software"
GPL = "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007"


def function_file(k: int, lines: int = 10) -> str:
    body = "".join(f"    v{i} = x * {i + k} + {k}\n" for i in range(lines))
    return f"def f{k}(x):\n{body}    return v0\n"


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    mit = root / "mitpkg"
    mit.mkdir(parents=True)
    (mit / "LICENSE").write_text(MIT)
    (mit / "a.py").write_text(function_file(1))
    (mit / "b.py").write_text(function_file(1).replace("\n", "   \n"))  # a exactly, trailing spaces aside
    near = function_file(1).splitlines(keepends=True)
    near[3] = "    v2 = x * 99 + 1\n"
    (mit / "c.py").write_text("".join(near))  # one line of eleven changed: a near duplicate of a
    (mit / "d.py").write_bytes(b"x = '\xff\xfe'\n")  # not UTF-8
    (mit / "e.py").write_text("def broken(:\n    pass\n")  # does not parse
    (mit / "big.py").write_text("x = 1\n" * 40_000)  # over the size limit
    for k in range(2, 12):
        (mit / f"m{k}.py").write_text(function_file(k * 7, lines=3 + k))
    gpl = root / "gplpkg"
    gpl.mkdir()
    (gpl / "COPYING").write_text(GPL)
    (gpl / "g.py").write_text(function_file(50))
    none = root / "nolicence"
    none.mkdir()
    (none / "n.py").write_text(function_file(60))
    return root


def test_filters_duplicates_licences_and_manifest(tree: Path) -> None:
    sources = [str(tree / "mitpkg"), str(tree / "gplpkg"), str(tree / "nolicence")]
    train, test, manifest = build_corpus(sources, max_file_bytes=100_000, holdout=0.0)
    names = {r["name"].split("/")[-1] for r in train}
    assert names == {"a.py"} | {f"m{k}.py" for k in range(2, 12)}
    counts = manifest["counts"]
    assert counts["exact_duplicates"] == 1 and counts["near_duplicates"] == 1
    assert counts["not_utf8"] == 1 and counts["not_parsing"] == 1 and counts["too_large"] == 1
    packages = {p["name"]: p for p in manifest["packages"]}
    assert packages[sources[0]]["included"] and packages[sources[0]]["licence"] == "MIT"
    assert not packages[sources[1]]["included"] and "GPL" in manifest["left_out_packages"][sources[1]]
    assert not packages[sources[2]]["included"] and "no licence" in manifest["left_out_packages"][sources[2]]
    assert all(r["licence"] == "MIT" and r["prompt"] == "" and r["completion"] == r["text"] for r in train)
    assert test == []


def test_unknown_licences_only_when_asked(tree: Path) -> None:
    train, _, manifest = build_corpus([str(tree / "nolicence")], include_unknown=True, holdout=0.0)
    assert [r["name"].split("/")[-1] for r in train] == ["n.py"]


def test_held_out_split_keeps_a_files_records_together(tree: Path) -> None:
    train, test, _ = build_corpus([str(tree / "mitpkg")], holdout=0.5, max_record_chars=60)
    assert train and test
    train_files = {r["file_sha"] for r in train}
    assert train_files.isdisjoint({r["file_sha"] for r in test})
    again_train, again_test, _ = build_corpus([str(tree / "mitpkg")], holdout=0.5, max_record_chars=60)
    assert again_train == train and again_test == test  # deterministic


def test_long_files_are_cut_at_top_level_definitions() -> None:
    text = ("import os\n\nX = 1\n\n\n# the first\n@decorate\ndef first():\n    return 1\n\n\nclass Second:\n"
            "    def method(self):\n        return 2\n\n\nY = first()\n")
    parts = split_top_level(text, max_chars=40)
    assert [suffix for suffix, _ in parts] == ["::0", "::first", "::Second", "::3"]
    assert parts[1][1].startswith("# the first\n@decorate\ndef first():")
    assert "".join(part for _, part in parts).replace("\n", "") == text.replace("\n", "")
    assert split_top_level(text, max_chars=10_000) == [("", text)]


def test_licence_expressions() -> None:
    assert expression_permissive("MIT OR GPL-3.0-only")
    assert not expression_permissive("MPL-2.0 AND MIT")
    assert expression_permissive("Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND BSD-3-Clause")
    assert not expression_permissive("LGPL-2.1-or-later")
    assert expression_permissive("(MIT OR GPL-2.0) AND BSD-2-Clause")


class FakeMetadata(dict):
    def get_all(self, key: str) -> list[str]:
        value = self.get(key)
        return value if isinstance(value, list) else []


def test_licence_from_metadata_fields() -> None:
    assert classify(FakeMetadata({"License-Expression": "BSD-3-Clause"})).permissive
    assert classify(FakeMetadata({"License": "Apache 2.0"})).expression == "Apache-2.0"
    by_classifier = classify(FakeMetadata({"Classifier": ["License :: OSI Approved :: MIT License"]}))
    assert by_classifier.permissive and by_classifier.source == "classifiers"
    gpl = classify(FakeMetadata({"Classifier": ["License :: OSI Approved :: GNU General Public License v3 (GPLv3)"]}))
    assert not gpl.permissive and gpl.expression == "GPL-3.0"
    unknown = classify(FakeMetadata({}))
    assert not unknown.permissive and "no licence" in unknown.why_not
    assert classify(FakeMetadata({"License": MIT + " ...\nwhole text"})).expression == "MIT"


def test_the_command_writes_a_dataset_and_manifest(tmp_path: Path, tree: Path) -> None:
    done = elm("dataset", "code", "--from", str(tree / "mitpkg"), "--out", str(tmp_path / "code"), "--holdout", "0",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "code" / "elm_dataset.json").read_text())
    assert manifest["kind"] == "code" and manifest["rows"] == {"train": 11, "test": 0}
    assert "11 train" in done.stdout


@pytest.mark.parametrize("case, expected", [
    ("empty", "holds no Python files"),
    ("missing", "does not exist"),
    ("gpl", "no Python file of"),
])
def test_bad_sources_are_one_line(tmp_path: Path, tree: Path, case: str, expected: str) -> None:
    (tmp_path / "empty").mkdir()
    source = {"empty": tmp_path / "empty", "missing": tmp_path / "nope", "gpl": tree / "gplpkg"}[case]
    line = error_line(elm("dataset", "code", "--from", str(source), "--out", str(tmp_path / "out"), cwd=tmp_path))
    assert expected in line and str(source) in line
    assert not (tmp_path / "out").exists()
