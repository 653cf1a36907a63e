"""Domain config, registration, sandbox spec, mutation context and behaviour space."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from elm_parity.domain import ParityDomain, QuadraticDomain
from elm_parity.program_shape import distinct_names, node_count, parse_program
from elm_seeds import read_seed
from elmcore.plugins import get_plugin_manager
from elmcore.sandbox import load_callable


def test_both_domains_are_registered_by_the_plugin() -> None:
    pm = get_plugin_manager()
    assert pm.get("domain", "parity") is ParityDomain
    assert pm.get("domain", "quadratic") is QuadraticDomain
    assert pm.registration("domain", "parity").plugin == "parity"


@pytest.mark.parametrize("bugs, name", [(None, "parity_bugs_1"), (0, "parity_correct"), (5, "parity_bugs_5")])
def test_bugs_choose_the_seed_file(bugs: int | None, name: str) -> None:
    config = ParityDomain.Config() if bugs is None else ParityDomain.Config(bugs=bugs)
    assert ParityDomain(config).seed_programs() == [read_seed("parity", name)]


def test_quadratic_bugs_choose_the_seed_file() -> None:
    assert QuadraticDomain(QuadraticDomain.Config(bugs=2)).seed_programs() == [
        read_seed("quadratic", "quadratic_bugs_2")]


@pytest.mark.parametrize("domain, bugs", [(ParityDomain, 6), (ParityDomain, -1), (QuadraticDomain, 3)])
def test_bugs_out_of_range_is_an_error(domain: type, bugs: int) -> None:
    with pytest.raises(ValidationError, match="bugs must be between 0 and"):
        domain.Config(bugs=bugs)


def test_seed_program_by_name_and_by_path(tmp_path: Path) -> None:
    assert ParityDomain(ParityDomain.Config(seed_program="parity_bugs_3")).seed_programs() == [
        read_seed("parity", "parity_bugs_3")]
    own = tmp_path / "mine.py"
    own.write_text("def parity(b1, b2, b3, b4):\n    return 0\n")
    assert ParityDomain(ParityDomain.Config(seed_program=str(own))).seed_programs() == [own.read_text()]


def test_seed_program_errors_say_what_to_do(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def parity(:\n")
    other = tmp_path / "other.py"
    other.write_text("def quadratic(a, b, c, x):\n    return 0\n")
    cases = {
        "nope": "no such seed for 'parity'; use one of: parity_bugs_1",
        "quadratic_correct": "no such seed for 'parity'",
        str(tmp_path / "missing.py"): "file not found; give an existing .py file",
        str(broken): "does not parse as Python (line 1",
        str(other): "defines no function parity(...)",
    }
    for seed_program, message in cases.items():
        with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            ParityDomain.Config(seed_program=seed_program)


def test_bugs_and_seed_program_together_is_an_error() -> None:
    with pytest.raises(ValidationError, match="either bugs or seed_program"):
        ParityDomain.Config(bugs=2, seed_program="parity_correct")


def test_config_survives_a_round_trip_through_plain_data() -> None:
    config = ParityDomain.Config(seed_program="parity_bugs_2")
    assert ParityDomain.Config(**config.model_dump(mode="json")) == config


def test_unknown_config_key_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ParityDomain.Config(bug=2)


def test_sandbox_spec_names_importable_harnesses() -> None:
    assert ParityDomain().sandbox_spec().harness == "elm_parity.harness:run_parity"
    assert QuadraticDomain().sandbox_spec().harness == "elm_parity.harness:run_quadratic"
    assert callable(load_callable(ParityDomain().sandbox_spec().harness))
    assert callable(load_callable(QuadraticDomain().sandbox_spec().harness))


def test_mutation_context() -> None:
    context = ParityDomain().mutation_context()
    assert (context.file_name, context.function_name) == ("parity.py", "parity")
    assert context.commit_messages == (("Fixed bugs", 1.0),)
    assert context.instruction == "Fix the bugs in this function."
    assert QuadraticDomain().mutation_context().file_name == "quadratic.py"


def test_behaviour_space_holds_every_seed() -> None:
    size, names = ParityDomain().behaviour_space()
    assert (size.name, names.name) == ("size", "names")
    for domain in (ParityDomain, QuadraticDomain):
        for bugs in range(domain.Config.max_bugs + 1):
            tree = parse_program(domain(domain.Config(bugs=bugs)).seed_programs()[0])
            assert size.low <= node_count(tree) <= size.high
            assert names.low <= distinct_names(tree) <= names.high


def test_shape_descriptors() -> None:
    tree = parse_program("def f(a, b):\n    c = a + b\n    return c\n")
    assert node_count(tree) == 8  # def, assign, return; c, a+b, a, b, c
    assert distinct_names(tree) == 3
    assert distinct_names(parse_program(read_seed("parity", "parity_bugs_4"))) == 10
