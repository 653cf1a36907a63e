"""Reading ``elm compare``'s options into a checked plan: which domain, bug counts, operators,
and each operator's config, trials and batch size.

Per-operator keys go through ``elmcore.config.build_config``, so each mutator's own ``Config``
validates them with the same one-line errors as ``elm run`` (with the operator's name in
place of ``mutator``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from elmcore import Domain
from elmcore import ConfigError, build_config, component_options, mutator_of
from elmcore import PluginManager, UnknownComponent
from elm_compare.counting import CompareError

DEFAULT_TRIALS = 10_000
DEFAULT_BATCH_SIZE = 500
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_TAG = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class OperatorPlan:
    name: str  # the label results use: the mutator's name, or NAME:TAG for a second config of it
    options: dict[str, Any]  # the mutator's resolved config
    trials: int
    batch_size: int

    @property
    def mutator(self) -> str:
        """The registered mutator this operator is."""
        return mutator_name(self.name)


def mutator_name(label: str) -> str:
    """``gp-tree:fast`` -> ``gp-tree``: the registered mutator behind an operator label."""
    return mutator_of(label)


@dataclass(frozen=True)
class ComparePlan:
    domain: str
    bugs: tuple[int | None, ...]  # None: the domain's seed as configured
    domain_options: dict[int | None, dict[str, Any]]  # resolved domain config per bug count
    operators: tuple[OperatorPlan, ...]
    seed: int = 0
    workers: int = 1
    settings: list[str] = field(default_factory=list)


def parse_bugs(text: str) -> tuple[int, ...]:
    """``"1-5"``, ``"1,3,5"``, ``"2"`` or ``"1-3,5"`` as an increasing tuple of bug counts."""
    counts: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            raise CompareError(f"--bugs {text!r}: write a count, a range or a list, e.g. 1-5 or 1,3,5")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise CompareError(f"--bugs {text!r}: range {low}-{high} is empty; write it low-high, e.g. 1-5")
        counts.update(range(low, high + 1))
    return tuple(sorted(counts))


def parse_operators(values: list[str], pm: PluginManager) -> tuple[str, ...]:
    """``["gp,gp-tree", "diff"]`` -> ("gp", "gp-tree", "diff"); each must be an installed mutator.
    ``NAME:TAG`` (e.g. ``gp-tree:fast``) compares the same mutator again under another label."""
    names = [n.strip() for value in values for n in value.split(",") if n.strip()]
    if not names:
        raise CompareError("--mutators: name at least one mutation operator, e.g. --mutators gp,gp-tree")
    for name in names:
        mutator, colon, tag = name.partition(":")
        if colon and not _TAG.match(tag):
            raise CompareError(f"--mutators: {name!r}: a label is NAME:TAG with a tag of letters, digits, "
                               "_ or -, e.g. gp-tree:fast")
        try:
            pm.registration("mutator", mutator)
        except UnknownComponent as exc:
            raise CompareError(f"--mutators: {exc}") from None
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CompareError(f"--mutators: {', '.join(duplicates)} named twice; name each operator once")
    return tuple(names)


def _unknown_operator(option: str, text: str, name: str, operators: tuple[str, ...], extra: str = "") -> CompareError:
    choices = [*operators, *([extra] if extra else [])]
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return CompareError(f"{option} {text!r}: {name!r} is not a compared operator"
                        f"{' or ' + repr(extra) if extra else ''}.{hint} Compared: {', '.join(operators)}")


def parse_per_operator(option: str, values: list[str], operators: tuple[str, ...], default: int) -> dict[str, int]:
    """``["100000", "diff=3200"]`` -> a positive count per operator: a bare number sets every
    operator, ``OP=N`` one of them (later values win)."""
    chosen = {name: default for name in operators}
    for text in values:
        name, sep, raw = text.rpartition("=")
        try:
            number = int(raw.replace("_", ""))
        except ValueError:
            raise CompareError(f"{option} {text!r}: write N or OPERATOR=N with a whole number, "
                               f"e.g. {option} 1000 or {option} {operators[0]}=1000") from None
        if number < 1:
            raise CompareError(f"{option} {text!r}: must be at least 1")
        if not sep:
            chosen = {n: number for n in operators}
        elif name.strip() in chosen:
            chosen[name.strip()] = number
        else:
            raise _unknown_operator(option, text, name.strip(), operators)
    return chosen


def split_settings(settings: list[str], operators: tuple[str, ...]) -> tuple[list[str], dict[str, list[str]]]:
    """``--set`` values -> (domain overrides, overrides per operator), each as SECTION.KEY=VALUE."""
    domain: list[str] = []
    per_operator: dict[str, list[str]] = {name: [] for name in operators}
    for text in settings:
        key, sep, value = text.partition("=")
        owner, dot, rest = key.strip().partition(".")
        if not sep or not dot or not rest:
            raise CompareError(f"--set {text!r}: write it as OPERATOR.KEY=VALUE or domain.KEY=VALUE, "
                               f"e.g. --set {operators[0]}.rate=0.2")
        if owner == "domain":
            if rest == "bugs":
                raise CompareError(f"--set {text!r}: give bug counts with --bugs, e.g. --bugs 1-5")
            domain.append(f"domain.{rest}={value}")
        elif owner in per_operator:
            per_operator[owner].append(f"mutator.{rest}={value}")
        else:
            raise _unknown_operator("--set", text, owner, operators, extra="domain")
    return domain, per_operator


def build_plan(pm: PluginManager, domain: str, operators: tuple[str, ...], bugs: tuple[int, ...] | None,
               trials: dict[str, int], batch_sizes: dict[str, int], settings: list[str], seed: int = 0,
               workers: int = 1, bugs_text: str = "") -> ComparePlan:
    """Check every option against the plugins' configs; CompareError naming the first problem."""
    try:
        domain_cls = pm.get("domain", domain)
    except UnknownComponent as exc:
        raise CompareError(f"--domain: {exc}") from None
    if domain_cls.is_solution is Domain.is_solution:
        raise CompareError(f"--domain {domain}: this domain does not say when a program solves its task "
                           "(no is_solution), so no child can count as a success; use a task domain such as "
                           "parity or quadratic")
    if bugs is not None and "bugs" not in domain_cls.Config.model_fields:
        raise CompareError(f"--bugs {bugs_text}: domain {domain!r} has no 'bugs' option; leave --bugs out to "
                           "mutate its configured seed")
    domain_settings, operator_settings = split_settings(settings, operators)
    counts: tuple[int | None, ...] = bugs if bugs else (None,)
    domain_options: dict[int | None, dict[str, Any]] = {}
    for count in counts:
        overrides = list(domain_settings) + ([] if count is None else [f"domain.bugs={count}"])
        try:
            resolved = build_config(pm, shortcuts={"domain.name": domain,
                                                   "mutator.name": mutator_name(operators[0])},
                                    overrides=overrides)
        except ConfigError as exc:
            message = str(exc)
            if "'domain.bugs'" in message:
                raise CompareError(f"--bugs {bugs_text}: {message.split(': ', 1)[-1]}") from None
            raise CompareError(message) from None
        domain_options[count] = component_options(resolved, "domain")
    plans = []
    for name in operators:
        try:
            resolved = build_config(pm, shortcuts={"domain.name": domain, "mutator.name": mutator_name(name)},
                                    overrides=[*domain_settings, *operator_settings[name]])
        except ConfigError as exc:
            raise CompareError(str(exc).replace("'mutator.", f"'{name}.")) from None
        plans.append(OperatorPlan(name, component_options(resolved, "mutator"), trials[name], batch_sizes[name]))
    return ComparePlan(domain, counts, domain_options, tuple(plans), seed, workers, list(settings))
