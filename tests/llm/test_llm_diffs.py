"""Parsing and applying diff-model hunks: the shapes real models produce."""

from __future__ import annotations

import pytest
from llm_samples import BUGGY_PARITY, FIXED_PARITY, FIXING_DIFF

from elmcore.children import unified_diff
from elm_llm.diffs import DiffApplyError, apply_hunks, parse_hunks

PROGRAM = """import math


def area(r):
    return math.pi * r * r


def parity(b1, b2, b3, b4):
    bit_sum = sum([c1, c2, b3, b4])
    return bit_sum % 3


def main():
    print(parity(1, 0, 1, 1))
    print(area(2))
"""


def apply(program: str, completion: str) -> str:
    return apply_hunks(program, parse_hunks(completion))


def test_clean_diff_fixes_parity():
    assert apply(BUGGY_PARITY, FIXING_DIFF) == FIXED_PARITY


def test_strict_takes_only_old_lines_that_are_in_the_program():
    exact = ("@@ -9,2 +9,2 @@\n-    bit_sum = sum([c1, c2, b3, b4])\n+    bit_sum = sum([b1, b2, b3, b4])\n"
             "     return bit_sum % 3\n")
    fixed = PROGRAM.replace("[c1, c2, b3, b4]", "[b1, b2, b3, b4]")
    assert apply_hunks(PROGRAM, parse_hunks(exact), strict=True) == fixed
    trailing = exact.replace("% 3\n", "% 3   \n")  # rule 2: trailing whitespace aside
    assert apply_hunks(PROGRAM, parse_hunks(trailing), strict=True) == fixed
    for lenient in (exact.replace("[c1, c2,", "[c1, b2,"),  # similar, not equal (rule 5)
                    exact.replace("-    bit_sum", "-  bit_sum"),  # other indentation (rule 3)
                    exact.replace("     return bit_sum % 3", "     return bit_sum % 4")):  # wrong context (rule 4)
        assert apply_hunks(PROGRAM, parse_hunks(lenient)) == fixed
        with pytest.raises(DiffApplyError):
            apply_hunks(PROGRAM, parse_hunks(lenient), strict=True)


def test_several_hunks_apply_in_order():
    completion = """@@ -4,2 +4,2 @@
 def area(r):
-    return math.pi * r * r
+    return math.pi * r ** 2
@@ -8,3 +8,3 @@
 def parity(b1, b2, b3, b4):
-    bit_sum = sum([c1, c2, b3, b4])
+    bit_sum = sum([b1, b2, b3, b4])
     return bit_sum % 3
@@ -14,2 +14,3 @@
     print(parity(1, 0, 1, 1))
+    print(parity(0, 0, 0, 0))
     print(area(2))
"""
    out = apply(PROGRAM, completion)
    assert "math.pi * r ** 2" in out and "sum([b1, b2, b3, b4])" in out
    assert "    print(parity(1, 0, 1, 1))\n    print(parity(0, 0, 0, 0))\n    print(area(2))\n" in out


def test_wrong_line_numbers_are_ignored():
    completion = FIXING_DIFF.replace("@@ -1,4 +1,4 @@", "@@ -37,4 +41,4 @@")
    assert apply(BUGGY_PARITY, completion) == FIXED_PARITY


def test_wrong_line_counts_are_ignored():
    completion = FIXING_DIFF.replace("@@ -1,4 +1,4 @@", "@@ -1,2 +1,9 @@")
    assert apply(BUGGY_PARITY, completion) == FIXED_PARITY


def test_header_without_counts_and_with_section_text():
    completion = "@@ -3 +3 @@ def parity(b1, b2, b3, b4):\n-    return bit_sum % 3\n+    return bit_sum % 2\n"
    assert apply(BUGGY_PARITY, completion).endswith("return bit_sum % 2\n")


def test_missing_context_only_changed_lines():
    completion = "@@ -9,1 +9,1 @@\n-    bit_sum = sum([c1, c2, b3, b4])\n+    bit_sum = sum([b1, b2, b3, b4])\n"
    out = apply(PROGRAM, completion)
    assert "sum([b1, b2, b3, b4])" in out and out.count("\n") == PROGRAM.count("\n")


def test_context_missing_between_change_groups():
    # the model skipped the unchanged lines between two changes in one hunk
    completion = """@@ -4,9 +4,9 @@
 def area(r):
-    return math.pi * r * r
+    return math.pi * r ** 2
 def parity(b1, b2, b3, b4):
-    bit_sum = sum([c1, c2, b3, b4])
+    bit_sum = sum([b1, b2, b3, b4])
"""
    out = apply(PROGRAM, completion)
    assert "math.pi * r ** 2" in out and "sum([b1, b2, b3, b4])" in out
    assert "\n\n\ndef parity" in out  # the blank lines the hunk left out are still there


def test_drifted_context_lines():
    completion = """@@ -8,3 +8,3 @@
 def parity(a1, b2, b3, b4):
-    bit_sum = sum([c1, c2, b3, b4])
+    bit_sum = sum([b1, b2, b3, b4])
     return bit_sum  %  3
"""
    out = apply(PROGRAM, completion)
    assert "def parity(b1, b2, b3, b4):" in out  # the program's own context line is kept
    assert "sum([b1, b2, b3, b4])" in out


def test_whitespace_drift_reindents_added_lines():
    completion = "@@ -2,2 +2,2 @@\n-bit_sum = sum([c1, c2, b3, b4])\n+bit_sum = sum([b1, b2, b3, b4])\n"
    assert "\n    bit_sum = sum([b1, b2, b3, b4])\n" in apply(BUGGY_PARITY, completion)


def test_crlf_completion_and_crlf_program():
    crlf_diff = FIXING_DIFF.replace("\n", "\r\n")
    assert apply(BUGGY_PARITY, crlf_diff) == FIXED_PARITY
    crlf_program = BUGGY_PARITY.replace("\n", "\r\n")
    assert apply(crlf_program, FIXING_DIFF) == FIXED_PARITY.replace("\n", "\r\n")


def test_trailing_garbage_after_the_diff_is_dropped():
    completion = FIXING_DIFF + "\nThis commit fixes the parity bugs.\n<NME> other.py\n<BEF> x = 1\n"
    hunks = parse_hunks(completion)
    assert len(hunks) == 1 and len(hunks[0].lines) == 6
    assert apply(BUGGY_PARITY, completion) == FIXED_PARITY


def test_garbage_that_looks_like_diff_lines_is_cut_by_the_stated_counts():
    completion = FIXING_DIFF + " random junk that is not in the file\n-more junk\n"
    assert apply(BUGGY_PARITY, completion) == FIXED_PARITY


def test_diff_inside_a_code_fence():
    completion = "```diff\n" + FIXING_DIFF + "```\n@@ -1,1 +1,1 @@\n-junk\n+junk2\n"
    assert apply(BUGGY_PARITY, completion) == FIXED_PARITY


def test_file_headers_and_leading_prose_are_skipped():
    completion = ("Here is the fix:\ndiff --git a/parity.py b/parity.py\n"
                  "--- a/parity.py\n+++ b/parity.py\n" + FIXING_DIFF)
    assert apply(BUGGY_PARITY, completion) == FIXED_PARITY


def test_hunk_that_does_not_match_fails_with_its_number():
    completion = FIXING_DIFF + "@@ -20,2 +20,2 @@\n-    while True:\n+    while False:\n"
    with pytest.raises(DiffApplyError, match=r"hunk 2 of 2 \(@@ -20,2 \+20,2 @@\) does not match"):
        apply(BUGGY_PARITY, completion)


def test_a_removed_line_that_is_only_vaguely_similar_does_not_match():
    completion = "@@ -2,1 +2,1 @@\n-    total = compute_everything(x, y, z)\n+    total = 0\n"
    with pytest.raises(DiffApplyError):
        apply(BUGGY_PARITY, completion)


def test_no_hunk_in_prose_or_context_only_hunks():
    assert parse_hunks("I think the code is fine as it is.") == []
    assert parse_hunks("@@ -1,2 +1,2 @@\n def parity(b1, b2, b3, b4):\n") == []


def test_pure_insertion_goes_after_the_stated_line():
    completion = "@@ -1,0 +2,1 @@\n+    # fixed below\n"
    out = apply(BUGGY_PARITY, completion)
    assert out.split("\n")[1] == "    # fixed below"


def test_unified_diff_round_trip():
    diff = unified_diff(BUGGY_PARITY, FIXED_PARITY, "parity.py")
    assert diff.startswith("--- a/parity.py\n+++ b/parity.py\n")
    assert apply(BUGGY_PARITY, diff) == FIXED_PARITY
    assert unified_diff(BUGGY_PARITY, BUGGY_PARITY) == ""
