"""`elm dataset commits`: every kind of bug and change is made where a function has a place
for it and changes the program; every record's diff applies exactly to its <BEF> and gives
the other side back; the kinds and messages are counted; bad corpora are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from elm_llm.diffs import apply_hunks, parse_hunks
from elm_train.commits import BUGS, CHANGES, DEFAULT_MIX, bug_edit, functions_of, make_commits
from elm_train.dataset_dir import write_dataset
from train_cli import elm, error_line

FUNCTION = '''def scale(values, factor, offset=0):
    """Scale the values."""
    total = 0
    out = []
    for i in range(len(values)):
        value = values[i] * factor + offset
        if value > 10:
            value = value - 2
        out.append(value)
        total = total + value
    return max(total, 1), out
'''
PARITY = '''def parity(b1, b2, b3, b4):
    """Return the binary parity of the four input bits."""
    bit_sum = sum([b1, b2, b3, b4])
    return bit_sum % 2
'''


def tokens(source: str) -> list[str]:
    import io
    import tokenize

    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)]


@pytest.mark.parametrize("edit", sorted(set(BUGS) | set(CHANGES)))
def test_each_edit_changes_the_program_and_still_parses(edit: str) -> None:
    import ast

    made = 0
    for seed in range(10):
        new = bug_edit(FUNCTION, edit, np.random.default_rng(seed))
        assert new is not None, f"{edit} found no place in a function that has one"
        ast.parse(new)
        assert tokens(new) != tokens(FUNCTION)
        made += 1
    assert made == 10


def test_misspelt_name_is_the_parity_kind_of_bug() -> None:
    seen = {bug_edit(PARITY, "misspelt", np.random.default_rng(seed)) for seed in range(30)}
    assert any("sum([c1, b2, b3, b4])" in s for s in seen)
    assert all("def parity(b1, b2, b3, b4)" in s for s in seen)  # the signature is never the bug


def test_edits_without_a_place_give_none() -> None:
    plain = "def f():\n    pass\n"
    for edit in ("operator", "comparison", "constant", "argument_order", "off_by_one", "delete_statement"):
        assert bug_edit(plain, edit, np.random.default_rng(0)) is None


def rows_of(*sources: str) -> list[dict]:
    return [dict(name=f"pkg/mod{k}.py", package="pkg", version="1", licence="MIT", text=text, prompt="",
                 completion=text, file_sha=f"{k:016x}") for k, text in enumerate(sources)]


def test_every_record_applies_exactly_and_restores_the_original() -> None:
    module = FUNCTION + "\n\n" + PARITY + "\n\nclass A:\n    def method(self, x):\n        y = x + 1\n" \
        "        return y * 2\n"
    records, counts = make_commits(rows_of(module), DEFAULT_MIX, seed=0, context=1, per_function=40)
    assert len(records) > 80
    functions = dict(functions_of(module))
    assert set(functions) == {"scale", "parity", "method"}
    for record in records:
        name = next(n for n in functions if f"def {n}(" in record["parent"])
        original = functions[name]
        after = apply_hunks(record["parent"], parse_hunks(record["completion"]), strict=True)
        if record["kind"] in ("bugfix", "complete"):
            assert after == original and record["parent"] != original
        else:
            assert record["parent"] == original and tokens(after) != tokens(original)
        assert record["prompt"] == f"<NME> mod0.py\n<BEF> {record['parent']}<MSG> {record['message']}\n<DFF>"
        assert record["completion"].startswith("\n@@ ")
    kinds = {r["kind"] for r in records}
    assert kinds == {"bugfix", "complete", "change"}
    assert sum(v for k, v in counts.items() if k.startswith("kind:")) == len(records)
    assert any(k == "message:Fixed bugs" for k in counts)
    assert any(r["message"] == "Fix bugs in parity" for r in records)
    again, _ = make_commits(rows_of(module), DEFAULT_MIX, seed=0, context=1, per_function=40)
    assert again == records  # a function of the seed


def test_a_killed_export_leaves_nothing_and_bad_corpora_are_one_line(tmp_path: Path) -> None:
    code = tmp_path / "code"
    write_dataset(code, "code", {"train": rows_of(FUNCTION, PARITY), "test": []}, {"corpus_version": 1})
    done = elm("dataset", "commits", "--from", str(code), "--out", str(tmp_path / "c"), "--per-function", "5",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "c" / "elm_dataset.json").read_text())
    made = manifest["rows"]["train"]
    assert manifest["kind"] == "commits" and 8 <= made <= 10  # 5 per function, less where one has no place
    assert sum(v for k, v in manifest["counts"].items() if k.startswith("kind:")) == made

    old = tmp_path / "old"
    write_dataset(old, "code", {"train": rows_of(FUNCTION), "test": []}, {"corpus_version": 0})
    line = error_line(elm("dataset", "commits", "--from", str(old), "--out", str(tmp_path / "x"), cwd=tmp_path))
    assert "another version" in line and str(old) in line
    line = error_line(elm("dataset", "commits", "--from", str(tmp_path / "c"), "--out", str(tmp_path / "y"),
                          cwd=tmp_path))
    assert "not a code corpus" in line
    line = error_line(elm("dataset", "commits", "--from", str(code), "--out", str(tmp_path / "z"), "--mix",
                          "bugs=1", cwd=tmp_path))
    assert "--mix" in line and "bugfix" in line
    assert not any((tmp_path / n).exists() for n in ("x", "y", "z"))
