"""The AST point mutation: determinism, every edit kind, valid children, failures reported."""

from __future__ import annotations

import ast
from collections import Counter

import numpy as np
import pytest

from elm_gp.ast_mutation import BUILTIN_NAMES, MutationFailed, MutationSettings, mutate_source
from elm_seeds import read_seed

EVERY_KIND = '''def f(x, y):
    """Docstring."""
    total = 0
    if x < y:
        total = x * 2.5
    for i in range(3):
        total += i
    return total > 1 or True
'''
BUGGY_PARITY = read_seed("parity", "parity_bugs_1")


def children(source: str, seed: int, count: int, **settings: object) -> list[tuple[str, tuple[str, ...]]]:
    rng = np.random.default_rng(seed)
    settings.setdefault("max_expected_edits", None)  # these tests exercise the rate itself
    results = [mutate_source(source, rng, MutationSettings(**settings)) for _ in range(count)]
    return [(r.program, r.edits) for r in results]


def test_same_seed_same_children_other_seed_other_children() -> None:
    assert children(EVERY_KIND, 7, 50) == children(EVERY_KIND, 7, 50)
    assert children(EVERY_KIND, 7, 50) != children(EVERY_KIND, 8, 50)


def test_every_edit_kind_happens_and_every_child_parses() -> None:
    seen: Counter[str] = Counter()
    for program, edits in children(EVERY_KIND, 0, 400, rate=0.2):
        ast.parse(program)
        assert program != EVERY_KIND
        seen.update(edit.split()[0] for edit in edits)
    assert set(seen) == {"name", "const", "op", "cmp", "delete", "duplicate"}


def test_at_least_one_edit_even_at_a_tiny_rate() -> None:
    for program, edits in children(BUGGY_PARITY, 1, 200, rate=1e-9):
        assert len(edits) == 1 and program != BUGGY_PARITY


def test_rate_one_edits_every_site_of_the_chosen_kinds() -> None:
    tree = ast.parse(BUGGY_PARITY)
    names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
    [(program, edits)] = children(BUGGY_PARITY, 2, 1, rate=1.0, kinds=("name",))
    assert len(edits) == len(names)
    assert all(edit.startswith("name ") for edit in edits)


def test_higher_rate_gives_more_edits() -> None:
    low = sum(len(e) for _, e in children(EVERY_KIND, 3, 300, rate=0.05))
    high = sum(len(e) for _, e in children(EVERY_KIND, 3, 300, rate=0.5))
    assert high > 2 * low


def test_kinds_restrict_the_edits() -> None:
    for _, edits in children(EVERY_KIND, 4, 100, rate=0.3, kinds=("constant",)):
        assert all(edit.startswith("const ") for edit in edits)


def test_names_come_from_scope_and_builtins_only_when_allowed() -> None:
    in_scope = {"b1", "b2", "b3", "b4", "bit_sum", "parity"}
    introduced: set[str] = set()
    for _, edits in children(BUGGY_PARITY, 5, 500, rate=0.3, kinds=("name",), builtin_rate=0.0):
        introduced.update(edit.split("->")[1] for edit in edits)
    assert introduced <= in_scope and "c1" not in introduced
    with_builtins: set[str] = set()
    for _, edits in children(BUGGY_PARITY, 5, 500, rate=0.3, kinds=("name",), builtin_rate=0.5):
        with_builtins.update(edit.split("->")[1] for edit in edits)
    assert with_builtins & set(BUILTIN_NAMES)


def test_constants_move_by_a_bounded_integer_step_and_booleans_flip() -> None:
    for _, edits in children(EVERY_KIND, 6, 300, rate=0.5, kinds=("constant",), int_step=2):
        for edit in edits:
            old, new = edit.removeprefix("const ").split("->")
            if old in ("True", "False"):
                assert new == str(old == "False")
            elif "." not in old:
                assert 1 <= abs(int(new) - int(old)) <= 2


def test_statement_edits_never_leave_an_empty_body() -> None:
    source = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    deletions = 0
    for program, edits in children(source, 7, 300, rate=1.0, kinds=("statement",)):
        tree = ast.parse(program)
        function = tree.body[0]
        assert function.body and all(n.body for n in ast.walk(tree) if isinstance(n, ast.If))
        deletions += sum(edit.startswith("delete") for edit in edits)
    assert deletions > 0


def test_docstrings_definitions_and_imports_are_not_statement_sites() -> None:
    source = 'import math\n\n\ndef f():\n    """Doc."""\n    return math.pi\n'
    for program, edits in children(source, 8, 100, kinds=("statement",)):
        assert edits in (("duplicate line 6 (Return)",), ("delete line 6 (Return)",))
        assert program.count("import math") == 1 and program.count('"""Doc."""') == 1


def test_edits_inside_a_deleted_statement_are_not_reported() -> None:
    source = "def f(a, b):\n    c = a\n    return b\n"
    deleted = 0
    for program, edits in children(source, 9, 200, rate=1.0, kinds=("name", "statement")):
        ast.parse(program)
        if "delete line 2 (Assign)" in edits:
            deleted += 1
            assert not any(e.startswith(("name c->", "name a->")) for e in edits)
        if "delete line 3 (Return)" in edits:
            deleted += 1
            assert not any(e.startswith("name b->") for e in edits)
    assert deleted > 0


def test_unparseable_parent_fails_and_an_empty_one_has_nothing_to_edit() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(MutationFailed, match="parent does not parse: line 1") as failure:
        mutate_source("def parity(:\n", rng, MutationSettings())
    assert not failure.value.no_edit
    with pytest.raises(MutationFailed, match="nothing to mutate") as failure:
        mutate_source("", rng, MutationSettings())
    assert failure.value.no_edit
    with pytest.raises(MutationFailed, match="max_program_chars"):
        mutate_source("x = 1\n" * 100, rng, MutationSettings(max_program_chars=50))


def test_large_programs_get_few_edits_by_default() -> None:
    from elm_seeds import read_seed

    walker = read_seed("sodarace", "square")
    capped = children(walker, 1, 300, max_expected_edits=1.5)
    uncapped = children(walker, 1, 300)
    mean = lambda kids: sum(len(e) for _, e in kids) / len(kids)  # noqa: E731
    assert mean(capped) < 2.6 < 6 < mean(uncapped)
    small = children(BUGGY_PARITY, 2, 300)  # 11 sites: 1.5 / 11 > 0.1, so the cap leaves it alone
    assert small == children(BUGGY_PARITY, 2, 300, max_expected_edits=1.5)


@pytest.mark.parametrize("source", [EVERY_KIND, BUGGY_PARITY, read_seed("sodarace", "square"),
                                    read_seed("sodarace", "cppn_fixed")], ids=["kinds", "parity", "square", "cppn"])
@pytest.mark.parametrize("rate", [0.1, 0.6])
def test_the_parent_cache_gives_the_same_children_and_leaves_the_parent_alone(source, rate):
    from elm_gp.ast_mutation import ParentCache

    cache = ParentCache(size=2)
    settings = MutationSettings(rate=rate, max_expected_edits=None)
    plain, cached = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(60):
        assert mutate_source(source, cached, settings, cache) == mutate_source(source, plain, settings)
    assert cache.misses == 1 and cache.hits == 59
    tree, _ = cache.get(source, settings)
    assert ast.unparse(tree) == ast.unparse(ast.parse(source))  # every edit was undone
