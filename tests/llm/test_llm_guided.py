"""Guided diffs (`mutator.guided`): the lines a diff keeps or removes are the parent's own, so
every diff applies exactly, while the model chooses the hunks and writes the added lines."""

from __future__ import annotations

import numpy as np
import pytest
from llm_samples import BUGGY_PARITY, FIXED_PARITY, FIXING_DIFF
from tiny_models import build_tiny_model, teach_continuation

from elmcore import Parent
from elm_llm.backend import SamplingParams
from elm_llm.diffs import apply_hunks, parse_hunks
from elm_llm.guided import DiffGuide
from elm_llm.hf_backend import TransformersBackend
from elm_llm.mutators import DiffMutator
from elm_llm.prompts import DIFF_STOPS, diff_prompt

END = 0
CHARS = [chr(c) for c in range(1, 128)]  # a character vocabulary: token k + 1 is CHARS[k]
VOCAB = ["<end>", *CHARS]


def encode(text: str) -> list[int]:
    return [VOCAB.index(c) for c in text]


def drive(parent: str, sampled: str) -> str:
    """What a row writes when its model samples the characters of ``sampled`` in turn; while
    the guide writes a copied line, the model's samples are not used (nor consumed here)."""
    guide = DiffGuide(parent, VOCAB, encode, END)
    written, i = [], 0
    while i < len(sampled) or guide.queue:
        if guide.queue:
            token = guide.next(encode("?")[0])
        else:
            token = guide.next(encode(sampled[i])[0])
            i += 1
        if token == END:
            break
        written.append(VOCAB[token])
    return "".join(written)


PARENT = "def f(x):\n    y = x + 1\n    z = y * 2\n    return z\n"


def test_kept_and_removed_lines_are_copied_from_the_parent_and_added_lines_are_the_models():
    # the model begins a kept line and a removed line; the guide writes the parent's lines 2
    # and 3 (the header names line 2); the model's added line stands as it wrote it
    text = drive(PARENT, "\n@@ -2,2 +2,2 @@\n \n-\n+    z = y * 3\n")
    assert text == "\n@@ -2,2 +2,2 @@\n     y = x + 1\n-    z = y * 2\n+    z = y * 3\n"
    assert apply_hunks(PARENT, parse_hunks(text), strict=True) == PARENT.replace("y * 2", "y * 3")


def test_after_a_copied_line_the_row_must_start_a_new_one():
    guide = DiffGuide(PARENT, VOCAB, encode, END)
    for char in "\n@@ -4,1 +4,1 @@\n-":
        guide.next(encode(char)[0])
    while guide.queue:
        guide.next(encode("?")[0])
    assert guide.needs_newline  # the decoding loop now samples only tokens that begin a line
    assert guide.next(encode("x")[0]) == END  # were it to sample anything else, the diff ends there


def test_a_hunk_starts_at_the_line_the_model_began_to_write_nearest_its_header():
    # the header says line 1, but the model began the removed line with "    r" (one token
    # here: the tag and the start of the line): the parent's "    return z" starts so
    guide = DiffGuide(PARENT, [*VOCAB, "-    r"], lambda text: [VOCAB.index(c) for c in text], END)
    for char in "\n@@ -1,1 +1,1 @@\n":
        guide.next(encode(char)[0])
    first = guide.next(len(VOCAB))
    copied = VOCAB[first] + "".join(VOCAB[guide.next(0)] for _ in range(len(guide.queue)))
    assert copied == "-    return z"


def test_a_hunk_that_runs_past_the_parent_ends_the_diff_and_a_later_hunk_goes_forward():
    text = drive(PARENT, "\n@@ -4,1 +4,1 @@\n-\n+    return -z\n tail\n")
    assert text == "\n@@ -4,1 +4,1 @@\n-    return z\n+    return -z\n"  # no line 5 to keep: the diff ends
    # a second hunk may not go back before the first one's last line
    text = drive(PARENT, "\n@@ -3,1 +3,1 @@\n-\n+    z = 0\n@@ -1,1 +1,1 @@\n \n")
    assert text.endswith("@@ -1,1 +1,1 @@\n     return z\n")
    assert apply_hunks(PARENT, parse_hunks(text), strict=True) == PARENT.replace("    z = y * 2", "    z = 0")


def test_a_blank_line_inside_a_hunk_is_kept_only_where_the_parent_has_one():
    parent = "a = 1\n\nb = 2\n"
    kept = drive(parent, "\n@@ -1,3 +1,3 @@\n \n\n-\n+b = 3\n")
    assert apply_hunks(parent, parse_hunks(kept), strict=True) == "a = 1\n\nb = 3\n"
    ended = drive(parent, "\n@@ -3,1 +3,1 @@\n-\n\n+c = 0\n")
    assert ended == "\n@@ -3,1 +3,1 @@\n-b = 2\n"


def test_text_outside_hunks_is_left_alone():
    assert drive(PARENT, "no diff here\n-    not copied\n") == "no diff here\n-    not copied\n"


# a line after the change that the parent does not have, counted in the header
DRIFTED_DIFF = FIXING_DIFF.replace("@@ -1,4 +1,4 @@", "@@ -1,5 +1,5 @@") + " print(parity(1, 0, 1, 1))\n"


@pytest.fixture(scope="module")
def drifting_model(tmp_path_factory):
    """A tiny model taught a diff whose last context line is not in the parent."""
    path = build_tiny_model(tmp_path_factory.mktemp("drifting"))
    teach_continuation(path, diff_prompt("parity.py", BUGGY_PARITY, "Fixed bugs"), "\n" + DRIFTED_DIFF)
    return str(path)


def test_guided_diffs_apply_exactly_where_the_model_drifts(drifting_model, parity_context):
    """Unguided, the taught hunk applies only leniently; guided, the diff ends where the
    parent does and applies exactly, with the model's own added lines."""
    children = {}
    for guided in (False, True):
        mutator = DiffMutator(DiffMutator.Config(model=drifting_model, temperature=0.0, max_new_tokens=200,
                                                 guided=guided), parity_context)
        [children[guided]] = mutator.mutate([Parent(id=1, program=BUGGY_PARITY)], np.random.default_rng(0))
    assert children[False].meta["edit_match"] == "lenient" and "print(parity" in children[False].completion
    assert children[True].program == FIXED_PARITY and children[True].meta["edit_match"] == "exact"
    assert "print(parity" not in children[True].completion


def test_sampled_rows_of_a_batch_are_guided_each_by_its_own_parent(drifting_model):
    """Several prompts, several samples each, rows that end at different steps: every row's
    kept and removed lines are its own parent's lines, and every diff applies exactly."""
    other = BUGGY_PARITY.replace("% 3", "% 5")
    backend = TransformersBackend(drifting_model, device="cpu", forward_batch=8)
    prompts = [diff_prompt("parity.py", BUGGY_PARITY, "Fixed bugs"), diff_prompt("parity.py", other, "Fixed bugs")]
    params = SamplingParams(temperature=0.7, max_new_tokens=200, n=3, stop=DIFF_STOPS,
                            copy_from=(BUGGY_PARITY, other))
    completions = backend.generate(prompts, params, seed=3)
    assert [c.prompt_index for c in completions] == [0, 0, 0, 1, 1, 1]
    with_hunks = set()
    for completion in completions:
        parent = (BUGGY_PARITY, other)[completion.prompt_index]
        hunks = parse_hunks(completion.text)
        assert all(line in parent.split("\n") for h in hunks for line in h.old_lines), completion.text
        apply_hunks(parent, hunks, strict=True)
        if hunks:
            with_hunks.add(completion.prompt_index)
    assert with_hunks == {0, 1}
