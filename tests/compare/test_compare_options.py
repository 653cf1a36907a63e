"""Reading elm compare's options: bug counts, per-operator counts, --set routing, and the
plan's checks against the plugins' configs, each failure a one-line CompareError."""

from __future__ import annotations

import pytest

from elm_compare.counting import CompareError
from elm_compare.options import build_plan, parse_bugs, parse_operators, parse_per_operator, split_settings
from elmcore.plugins import get_plugin_manager

OPERATORS = ("gp", "gp-tree")


@pytest.mark.parametrize("text,expected", [("1-5", (1, 2, 3, 4, 5)), ("2", (2,)), ("1,3,5", (1, 3, 5)),
                                           ("3,1-2", (1, 2, 3)), (" 1 - 2 ", (1, 2)), ("0", (0,))])
def test_bug_counts(text: str, expected: tuple[int, ...]) -> None:
    assert parse_bugs(text) == expected


@pytest.mark.parametrize("text,message", [("x", "write a count, a range or a list"), ("5-1", "is empty"),
                                          ("1-", "write a count"), ("-1", "write a count")])
def test_bad_bug_counts(text: str, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        parse_bugs(text)


def test_counts_per_operator() -> None:
    assert parse_per_operator("--trials", [], OPERATORS, 10) == {"gp": 10, "gp-tree": 10}
    assert parse_per_operator("--trials", ["100_000", "gp-tree=64"], OPERATORS, 10) == {"gp": 100000, "gp-tree": 64}
    assert parse_per_operator("--trials", ["gp=5", "7"], OPERATORS, 10) == {"gp": 7, "gp-tree": 7}


@pytest.mark.parametrize("values,message", [
    (["gp-tre=5"], "'gp-tre' is not a compared operator. Did you mean 'gp-tree'?"),
    (["gp=many"], "write N or OPERATOR=N"),
    (["0"], "must be at least 1"),
])
def test_bad_counts_per_operator(values: list[str], message: str) -> None:
    with pytest.raises(CompareError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_per_operator("--trials", values, OPERATORS, 10)


def test_settings_go_to_their_operator_or_the_domain() -> None:
    domain, per_operator = split_settings(["gp-tree.rate=0.2", "domain.x=1", "gp.kinds=[name]",
                                           "gp-tree.constants=[0, 1.5]"], OPERATORS)
    assert domain == ["domain.x=1"]
    assert per_operator == {"gp": ["mutator.kinds=[name]"],
                            "gp-tree": ["mutator.rate=0.2", "mutator.constants=[0, 1.5]"]}


@pytest.mark.parametrize("text,message", [
    ("gpt.rate=1", "'gpt' is not a compared operator or 'domain'. Did you mean 'gp'?"),
    ("rate=1", "write it as OPERATOR.KEY=VALUE"),
    ("domain.bugs=2", "give bug counts with --bugs"),
])
def test_bad_settings(text: str, message: str) -> None:
    with pytest.raises(CompareError) as caught:
        split_settings([text], OPERATORS)
    assert message in str(caught.value)


def test_unknown_operator_suggests_the_closest() -> None:
    with pytest.raises(CompareError) as caught:
        parse_operators(["gp,gp-tre"], get_plugin_manager())
    assert "unknown mutator 'gp-tre'. Did you mean 'gp-tree'?" in str(caught.value)
    with pytest.raises(CompareError, match="named twice"):
        parse_operators(["gp", "gp"], get_plugin_manager())


def plan(domain: str = "parity", bugs: tuple[int, ...] | None = (1, 2), settings: list[str] | None = None,
         operators: tuple[str, ...] = OPERATORS):
    return build_plan(get_plugin_manager(), domain, operators, bugs, {o: 100 for o in operators},
                      {o: 10 for o in operators}, settings or [], bugs_text="-".join(map(str, bugs or ())))


def test_a_plan_holds_each_operators_validated_config() -> None:
    checked = plan(settings=["gp-tree.rate=0.25"])
    assert [o.name for o in checked.operators] == ["gp", "gp-tree"]
    assert checked.operators[1].options["rate"] == 0.25 and checked.operators[0].options["rate"] == 0.1
    assert checked.domain_options == {1: {"bugs": 1, "seed_program": None}, 2: {"bugs": 2, "seed_program": None}}
    assert plan(bugs=None).bugs == (None,)


@pytest.mark.parametrize("kwargs,message", [
    (dict(domain="quadratic", bugs=(0, 9)), "--bugs 0-9: bugs must be between 0 and 2 for 'quadratic'"),
    (dict(settings=["gp-tree.rte=0.1"]), "config key 'gp-tree.rte' is not accepted. Did you mean 'rate'?"),
    (dict(settings=["gp-tree.rate=2"]), "config key 'gp-tree.rate': rate must be in (0, 1]"),
    (dict(settings=["domain.seed_program=parity_bugs_3"]), "give either bugs or seed_program, not both"),
    (dict(domain="parrity"), "unknown domain 'parrity'. Did you mean 'parity'?"),
    (dict(domain="sodarace", bugs=None), "does not say when a program solves its task"),
])
def test_plan_errors_name_the_option(kwargs: dict, message: str) -> None:
    with pytest.raises(CompareError) as caught:
        plan(**kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_one_mutator_under_two_labels_with_its_own_settings() -> None:
    operators = parse_operators(["gp-tree,gp-tree:fast"], get_plugin_manager())
    assert operators == ("gp-tree", "gp-tree:fast")
    checked = plan(operators=operators, settings=["gp-tree:fast.rate=0.4"])
    assert [(o.name, o.mutator, o.options["rate"]) for o in checked.operators] == [
        ("gp-tree", "gp-tree", 0.1), ("gp-tree:fast", "gp-tree", 0.4)]
    with pytest.raises(CompareError) as caught:
        plan(operators=operators, settings=["gp-tree:fast.rte=0.4"])
    assert "config key 'gp-tree:fast.rte' is not accepted. Did you mean 'rate'?" in str(caught.value)


@pytest.mark.parametrize("text,message", [("gp-tree:", "a label is NAME:TAG"), ("gp-tree:a.b", "a label is NAME:TAG"),
                                          ("gpx:fast", "unknown mutator 'gpx'")])
def test_bad_labels(text: str, message: str) -> None:
    with pytest.raises(CompareError, match=message):
        parse_operators([text], get_plugin_manager())
