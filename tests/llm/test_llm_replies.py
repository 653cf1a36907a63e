"""Reading chat replies: SEARCH/REPLACE blocks and whole code blocks, well and badly formed."""

from __future__ import annotations

import pytest
from llm_samples import BUGGY_PARITY, FIXED_PARITY

from elm_llm.replies import (
    EditApplyError,
    ReplyFormatError,
    SearchReplace,
    apply_search_replace,
    extract_code_block,
    has_search_replace,
    parse_search_replace,
)

TWO_BLOCKS = """I found two bugs.

```python
<<<<<<< SEARCH
    bit_sum = sum([c1, c2, b3, b4])
=======
    bit_sum = sum([b1, b2, b3, b4])
>>>>>>> REPLACE
```

```python
<<<<<<< SEARCH
    return bit_sum % 3
=======
    return bit_sum % 2
>>>>>>> REPLACE
```
"""


def test_two_blocks_fix_parity():
    blocks = parse_search_replace(TWO_BLOCKS)
    assert blocks == [SearchReplace("    bit_sum = sum([c1, c2, b3, b4])", "    bit_sum = sum([b1, b2, b3, b4])"),
                      SearchReplace("    return bit_sum % 3", "    return bit_sum % 2")]
    assert apply_search_replace(BUGGY_PARITY, blocks) == FIXED_PARITY


def test_crlf_reply_and_short_markers():
    reply = "<<<<< SEARCH\r\n    return bit_sum % 3\r\n=====\r\n    return bit_sum % 2\r\n>>>>> REPLACE\r\n"
    out = apply_search_replace(BUGGY_PARITY, parse_search_replace(reply))
    assert out.endswith("return bit_sum % 2\n")


def test_search_with_wrong_indentation_is_found_and_replacement_reindented():
    blocks = [SearchReplace("return bit_sum % 3", "return bit_sum % 2")]
    assert apply_search_replace(BUGGY_PARITY, blocks).endswith("\n    return bit_sum % 2\n")


def test_search_matches_whole_lines_only():
    program = "xx = 1\nx = 1\n"
    assert apply_search_replace(program, [SearchReplace("x = 1", "x = 2")]) == "xx = 1\nx = 2\n"


def test_empty_search_appends():
    out = apply_search_replace(BUGGY_PARITY, [SearchReplace("", "print(parity(1, 0, 0, 0))")])
    assert out == BUGGY_PARITY + "print(parity(1, 0, 0, 0))\n"


def test_deleting_lines():
    program = "a = 1\nb = 2\nc = 3\n"
    assert apply_search_replace(program, [SearchReplace("b = 2\n", "")]) == "a = 1\nc = 3\n"


def test_search_text_not_in_program():
    with pytest.raises(EditApplyError, match="block 1 of 1 is not in the program"):
        apply_search_replace(BUGGY_PARITY, [SearchReplace("    while True:\n        pass", "    pass")])


@pytest.mark.parametrize("reply, message", [
    ("<<<<<<< SEARCH\nx = 1\n>>>>>>> REPLACE\n", "has no '=======' divider"),
    ("<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n", "not closed"),
    ("<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n<<<<<<< SEARCH\n", "a new SEARCH starts"),
    ("x = 2\n>>>>>>> REPLACE\n", "has no '<<<<<<< SEARCH'"),
])
def test_malformed_blocks(reply, message):
    assert has_search_replace(reply)
    with pytest.raises(ReplyFormatError, match=message):
        parse_search_replace(reply)


def test_code_block_prefers_python_block_defining_the_function():
    reply = ("Run it like this:\n```bash\npython parity.py\n```\nThe fix:\n```python\n" + FIXED_PARITY
             + "```\nand a test:\n```python\nassert parity(1, 0, 0, 0) == 1\n```\n")
    assert extract_code_block(reply, "parity") == FIXED_PARITY


def test_code_block_without_language_tag():
    assert extract_code_block("```\n" + FIXED_PARITY + "```", "parity") == FIXED_PARITY


def test_plain_code_reply_without_fence():
    assert extract_code_block(FIXED_PARITY, "parity") == FIXED_PARITY


def test_unclosed_code_block():
    with pytest.raises(ReplyFormatError, match="not closed"):
        extract_code_block("```python\n" + FIXED_PARITY, "parity")


def test_reply_with_no_code():
    with pytest.raises(ReplyFormatError, match="no SEARCH/REPLACE block and no code block"):
        extract_code_block("The bug is that c1 and c2 are undefined.", "parity")
