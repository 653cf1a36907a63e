"""Run configuration: file (YAML, TOML or JSON) + command-line overrides -> resolved config.

Layout::

    run:      {evals, batch_size, workers, seed, ...}   the engine's keys (RunSection)
    domain:   {name: parity, ...the domain plugin's own keys}
    mutator:  {name: gp, ...}            (a portfolio: name: gp,diff:tag)
    qd:       {name: map-elites, ...}

``run`` is validated here by ``RunSection``, whose fields (each with its description) are
the list of its keys; each component section is validated by the ``Config`` model of
the plugin its ``name`` selects. Every error is one line naming the key and what is accepted.
The result is typed (``RunConfig``, ``LearnConfig``): validated once, then handed to the
engine and its workers as it is; ``as_dict()`` is the plain form a run stores.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from elmcore.interfaces import PluginConfig
from elmcore.plugins import PluginManager, UnknownComponent

SECTIONS = ("run", "domain", "mutator", "qd")


class ConfigError(ValueError):
    """A config problem, phrased for the user."""


class RunSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evals: int = Field(10_000, ge=1, description="evaluations to spend: every candidate counts but a duplicate "
                       "(a program the run has already evaluated), which is not evaluated again")
    batch_size: int = Field(64, ge=1, description="children produced and evaluated per iteration")
    workers: int = Field(1, ge=1, description="evaluation worker processes")
    seed: int = Field(0, ge=0, description="random seed: same config and seed give the same archive")
    overlap: bool = Field(True, description="generate batch k+1 while batch k is evaluated (parents of k+1 "
                          "then come from the archive before batch k); keeps an LLM and the workers busy together")
    executor: Literal["local", "ray"] = Field("local", description="where programs are evaluated: local worker "
                                              "processes, or Ray actors across a cluster (pip install -e '.[ray]')")
    ray_address: str | None = Field(None, description="Ray cluster to join (auto, ray://HOST:10001, HOST:6379); "
                                                      "default: start a local Ray instance")
    portfolio: Literal["adaptive", "uniform"] = Field(
        "adaptive", description="with several mutators (--mutator gp,diff): split each batch by what has worked "
                                "(adaptive: a bandit crediting children that enter the archive) or equally")
    portfolio_floor: float = Field(0.1, ge=0.0, le=1.0, description="adaptive portfolio: the share of each batch "
                                                                    "every operator keeps at least")
    portfolio_credit_new_niche: float = Field(1.0, ge=0.0, description="adaptive portfolio: the credit of a child "
                                              "that filled an empty niche")
    portfolio_credit_improvement: float = Field(1.0, ge=0.0, description="adaptive portfolio: the credit of a "
                                                "child that replaced a worse elite; below the new-niche credit, "
                                                "the bandit favours the operator that explores")
    islands: int = Field(1, ge=1, description="archives evolving side by side; batch k draws from and competes "
                                              "in island k % islands, elites migrate along a ring")
    migrate_every: int = Field(10, ge=1, description="islands: batches between migrations")
    migrants: int = Field(1, ge=1, description="islands: best elites each island sends to the next per migration")
    deduplicate: bool = Field(True, description="do not evaluate a program the run has already evaluated (compared "
                              "after the domain's normalisation): store it as a duplicate and ask for another")
    duplicate_retries: int = Field(3, ge=0, description="rounds of replacements per batch for children that "
                                   "were duplicates (each round asks their operators for as many new children)")
    ray_generate_on: Literal["local", "cpu", "gpu"] = Field(
        "local", description="where the mutator runs: in the engine (local), or in a Ray actor on a node with a "
                             "free CPU or GPU")


def load_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"config file {path}: use a .yaml, .yml, .toml or .json file")
    except (RecursionError, MemoryError):
        raise ConfigError(f"config file {path} is nested too deeply to read (a config needs a few levels: "
                          "SECTION, KEY, VALUE); fix it") from None
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        first = str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path} does not parse: {first}{where}; fix its syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping with sections {', '.join(SECTIONS)}")
    if nesting_depth(data) > MAX_NESTING:
        raise ConfigError(f"config file {path} is nested more than {MAX_NESTING} levels deep (a config needs a few: "
                          "SECTION, KEY, VALUE); fix it")
    return data


MAX_NESTING = 32  # levels of mappings and lists in a config: far above what any setting needs


def nesting_depth(value: Any) -> int:
    """How many levels of mappings and lists ``value`` has (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:  # deeper is refused anyway: stop looking
                stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_override(text: str) -> tuple[list[str], Any]:
    """``qd.bins=12`` -> (["qd", "bins"], 12); the value is read as a YAML scalar or list."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: write it as SECTION.KEY=VALUE, e.g. --set qd.bins=12")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    except (RecursionError, MemoryError):
        value = None
        deep = True
    else:
        deep = nesting_depth(value) > MAX_NESTING
    if deep:
        raise ConfigError(f"--set {key.strip()}: the value is nested more than {MAX_NESTING} levels deep; give a "
                          "number, a string or a short list")
    return key.strip().split("."), value


def apply_override(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {'.'.join(path)}: {part!r} is not a section")
        node = child
    node[path[-1]] = value


def _unknown_key_message(where: str, key: str, accepted: list[str]) -> str:
    close = difflib.get_close_matches(key, accepted, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"config key '{where}.{key}' is not accepted.{hint} Accepted keys: {', '.join(accepted) or 'none'}"


_Model = TypeVar("_Model", bound=BaseModel)


def accepted_keys(model: type[BaseModel]) -> set[str]:
    """The keys ``model`` reads: its fields' names and the older names a field still reads
    (``validation_alias=AliasChoices(name, old_name)``), so stored configs keep resuming."""
    keys = set(model.model_fields)
    for field in model.model_fields.values():
        if isinstance(field.validation_alias, AliasChoices):
            keys.update(c for c in field.validation_alias.choices if isinstance(c, str))
        elif isinstance(field.validation_alias, str):
            keys.add(field.validation_alias)
    return keys


def _validate(model: type[_Model], values: dict[str, Any], where: str) -> _Model:
    accepted = list(model.model_fields)
    known = accepted_keys(model)
    for key in values:
        if key not in known:
            raise ConfigError(_unknown_key_message(where, key, accepted))
    try:
        return model(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "value_error":  # a plugin's own validator: its message says it all
            message = str(err["msg"]).removeprefix("Value error, ")
            raise ConfigError(f"config key '{where}.{loc}': {message}") from exc
        field = model.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        expected = f" (expected {_type_name(field.annotation)})" if field is not None else ""
        raise ConfigError(f"config key '{where}.{loc}': {err['msg']}, got {err.get('input')!r}{expected}") from exc


def _type_name(annotation: Any) -> str:
    """``int`` rather than ``<class 'int'>``; ``str | None`` stays as written."""
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


@dataclass(frozen=True)
class ComponentConfig:
    """One component section, validated: the plugin class its ``name`` selects and its
    ``Config`` instance."""

    section: str
    name: str
    cls: type[Any]
    options: PluginConfig
    label: str = ""  # in a portfolio, the operator's label (NAME or NAME:TAG); else the name

    def values(self) -> dict[str, Any]:
        """The options as plain data (without the name)."""
        return self.options.model_dump(mode="json")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.values()}

    def build(self, *args: Any, **kwargs: Any) -> Any:
        """An instance of the component; one that refuses its config (a ValueError, as pydantic
        raises) becomes a one-line ConfigError naming the section. Any other exception is a bug
        of the component and is left as it is."""
        try:
            return self.cls(self.options, *args, **kwargs)
        except ConfigError:
            raise
        except ValueError as exc:
            raise ConfigError(f"{self.section} {self.name!r}: {exc}") from exc


@dataclass(frozen=True)
class RunConfig:
    """The validated config of a run of ``elm run``; ``mutators`` has several entries for a
    portfolio (``mutator.name: gp,diff``)."""

    run: RunSection
    domain: ComponentConfig
    mutators: tuple[ComponentConfig, ...]
    qd: ComponentConfig

    @property
    def mutator(self) -> ComponentConfig:
        """The run's one mutator (ConfigError for a portfolio)."""
        if len(self.mutators) != 1:
            raise ConfigError(f"this takes one mutator, not the portfolio {self.mutator_name}")
        return self.mutators[0]

    @property
    def mutator_name(self) -> str:
        return ",".join(m.label or m.name for m in self.mutators)

    def as_dict(self) -> dict[str, Any]:
        """Plain data: what the run stores and ``resolve`` reads back."""
        if len(self.mutators) == 1:
            mutator = self.mutators[0].as_dict()
        else:  # a portfolio: each operator's options under its label
            mutator = {"name": self.mutator_name, **{m.label: m.values() for m in self.mutators}}
        return {"run": self.run.model_dump(), "domain": self.domain.as_dict(), "mutator": mutator,
                "qd": self.qd.as_dict()}

    def with_run(self, **changes: Any) -> "RunConfig":
        """A copy with run keys changed (``evals``, ``workers`` on resume), validated."""
        return replace(self, run=_validate(RunSection, {**self.run.model_dump(), **changes}, "run"))


def default_name(pm: PluginManager, kind: str, section: str) -> str:
    """The component a section takes when its ``name`` is left out: the one registered with
    ``default = True`` (``elm plugins`` shows it)."""
    names = pm.defaults(kind)
    if len(names) == 1:
        return names[0]
    installed = ", ".join(pm.names(kind)) or "none installed"
    if not names:
        raise ConfigError(f"{section}.name: no {section} is set and no installed plugin offers a default one; "
                          f"choose one (installed: {installed})")
    raise ConfigError(f"{section}.name: no {section} is set and plugins offer several defaults "
                      f"({', '.join(names)}); choose one")


def _component(pm: PluginManager, section: str, kind: str, raw: Any) -> ComponentConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"config section '{section}' must be a mapping with a 'name'")
    raw = dict(raw)
    name = raw.pop("name", None)
    if name is None:
        name = default_name(pm, kind, section)
    try:
        cls = pm.get(kind, str(name))
    except UnknownComponent as exc:
        raise ConfigError(f"{section}.name: {exc}") from exc
    return ComponentConfig(section, str(name), cls, _validate(cls.Config, raw, section))


def operator_labels(name: Any) -> list[str]:
    """The operator labels of ``mutator.name``: ``"gp, diff:pre"`` -> ``["gp", "diff:pre"]``
    (one label: one mutator; several: a portfolio)."""
    return [label.strip() for label in str(name).split(",") if label.strip()] if name is not None else []


def mutator_of(label: str) -> str:
    """The registered mutator behind an operator label: ``diff:pre`` -> ``diff``."""
    return label.partition(":")[0].strip()


def with_stored_defaults(data: dict[str, Any], pm: PluginManager) -> dict[str, Any]:
    """A stored run config with each component's ``stored_defaults`` filled in where the
    stored section lacks the key (a key added after the run was made); what resume reads."""
    out = {section: dict(value) if isinstance(value, dict) else value for section, value in data.items()}

    def fill(section: dict[str, Any], kind: str, name: Any) -> None:
        try:
            cls = pm.get(kind, str(name))
        except UnknownComponent:
            return  # resolve says so, in its own words
        for key, value in cls.Config.stored_defaults.items():
            section.setdefault(key, value)

    for kind in ("domain", "qd"):
        if isinstance(out.get(kind), dict) and "name" in out[kind]:
            fill(out[kind], kind, out[kind]["name"])
    mutator = out.get("mutator")
    if isinstance(mutator, dict):
        labels = operator_labels(mutator.get("name"))
        if len(labels) == 1:
            fill(mutator, "mutator", mutator_of(labels[0]))
        else:  # a portfolio stores each operator's options under its label
            for label in labels:
                if isinstance(mutator.get(label), dict):
                    mutator[label] = dict(mutator[label])
                    fill(mutator[label], "mutator", mutator_of(label))
    return out


def _mutators(pm: PluginManager, raw: Any) -> tuple[ComponentConfig, ...]:
    """The mutator section: one mutator, or a portfolio when ``name`` lists several labels
    (``gp,diff``, ``gp,gp:fine``). In a portfolio, ``LABEL: {...}`` holds one operator's
    options and the other keys go to every operator that accepts them (``--model`` ...)."""
    if not isinstance(raw, dict):
        raise ConfigError("config section 'mutator' must be a mapping with a 'name'")
    raw = dict(raw)
    name = raw.get("name")
    labels = operator_labels(name)
    if len(labels) <= 1:
        if labels:
            raw["name"] = labels[0]
        return (_component(pm, "mutator", "mutator", raw),)
    raw.pop("name")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"mutator.name {name!r} names an operator twice; give each its own label, e.g. gp,gp:fine")
    own = {}
    for label in labels:
        section = raw.pop(label, {})
        if not isinstance(section, dict):
            raise ConfigError(f"config section 'mutator.{label}' must be a mapping of that operator's options")
        own[label] = section
    classes = {}
    for label in labels:
        try:
            classes[label] = pm.get("mutator", mutator_of(label))
        except UnknownComponent as exc:
            raise ConfigError(f"mutator.name: {exc}") from exc
    for key in raw:
        if not any(key in accepted_keys(cls.Config) for cls in classes.values()):
            raise ConfigError(f"config key 'mutator.{key}' is not accepted by any of {', '.join(labels)}; give an "
                              f"operator's own keys as mutator.LABEL.KEY, e.g. --set mutator.{labels[0]}.KEY=VALUE")
    found = []
    for label, cls in classes.items():
        shared = {k: v for k, v in raw.items() if k in accepted_keys(cls.Config)}
        options = _validate(cls.Config, {**shared, **own[label]}, f"mutator.{label}")
        found.append(ComponentConfig(f"mutator.{label}", cls.name, cls, options, label=label))
    return tuple(found)


def resolve(data: RunConfig | dict[str, Any], pm: PluginManager) -> RunConfig:
    """Validate a raw config dict (or a stored one) and fill in every default."""
    if isinstance(data, RunConfig):
        return data
    for section in data:
        if section not in SECTIONS:
            raise ConfigError(_unknown_key_message("config", section, list(SECTIONS)).replace("'config.", "'"))
    run = data.get("run") or {}
    if not isinstance(run, dict):
        raise ConfigError("config section 'run' must be a mapping")
    return RunConfig(run=_validate(RunSection, run, "run"),
                     domain=_component(pm, "domain", "domain", data.get("domain") or {}),
                     mutators=_mutators(pm, data.get("mutator") or {}),
                     qd=_component(pm, "qd", "qd", data.get("qd") or {}))


class LearnSection(BaseModel):
    """The ``learn`` section of a learning run (``elm learn``)."""

    model_config = ConfigDict(extra="forbid")

    conditions: list[str] = Field(min_length=1, description="conditions to learn for (the domain's names for them), "
                                                            "drawn uniformly for each sample")
    iterations: int = Field(50, ge=1, description="learning iterations (sample, evaluate, update)")
    samples: int = Field(256, ge=1, description="programs written and evaluated per iteration")
    workers: int = Field(1, ge=1, description="evaluation worker processes per condition")
    seed: int = Field(0, ge=0, description="random seed: same config and seed give the same run")


LEARN_SECTIONS = ("learn", "domain", "learner")


@dataclass(frozen=True)
class LearnConfig:
    """The validated config of a learning run (``elm learn``)."""

    learn: LearnSection
    domain: ComponentConfig
    learner: ComponentConfig

    def as_dict(self) -> dict[str, Any]:
        return {"learn": self.learn.model_dump(), "domain": self.domain.as_dict(), "learner": self.learner.as_dict()}

    def with_learn(self, **changes: Any) -> "LearnConfig":
        return replace(self, learn=_validate(LearnSection, {**self.learn.model_dump(), **changes}, "learn"))


def resolve_learning(data: LearnConfig | dict[str, Any], pm: PluginManager) -> LearnConfig:
    """Validate the config of a learning run (sections learn, domain, learner)."""
    if isinstance(data, LearnConfig):
        return data
    for section in data:
        if section not in LEARN_SECTIONS:
            raise ConfigError(_unknown_key_message("config", section, list(LEARN_SECTIONS)).replace("'config.", "'"))
    learn = _validate(LearnSection, dict(data.get("learn") or {}), "learn")
    domain = data.get("domain")
    if not isinstance(domain, dict) or "name" not in domain:
        raise ConfigError("config section 'domain' must be a mapping with a 'name' (the domain whose conditions "
                          "are learnt)")
    return LearnConfig(learn=learn, domain=_component(pm, "domain", "domain", data.get("domain") or {}),
                       learner=_component(pm, "learner", "learner", data.get("learner") or {}))


def raw_config(config_file: str | Path | None = None, shortcuts: dict[str, Any] | None = None,
               overrides: Sequence[str] = (), base: dict[str, Any] | None = None) -> dict[str, Any]:
    """``base`` (or the config file), then command-line shortcuts (``--domain`` ...), then
    ``--set`` overrides, not yet validated."""
    data: dict[str, Any] = dict(base or {})
    if config_file:
        data.update(load_file(config_file))
    for section in ("domain", "mutator", "qd", "learner"):
        if isinstance(data.get(section), str):  # "mutator: gp" is short for "mutator: {name: gp}"
            data[section] = {"name": data[section]}
    for dotted, value in (shortcuts or {}).items():
        if value is not None:
            path = dotted.split(".")
            if path[-1] == "name" and isinstance(data.get(path[0]), dict) \
                    and data[path[0]].get("name") not in (None, value):
                data[path[0]] = {}  # another component: its options do not carry over
            apply_override(data, path, value)
    for text in overrides:
        path, value = parse_override(text)
        apply_override(data, path, value)
    return data


def build_config(pm: PluginManager, config_file: str | Path | None = None,
                 shortcuts: dict[str, Any] | None = None, overrides: Sequence[str] = ()) -> RunConfig:
    """The resolved config of a run: ``raw_config``, validated."""
    return resolve(raw_config(config_file, shortcuts, overrides), pm)


def component_options(config: RunConfig | LearnConfig | dict[str, Any], section: str) -> dict[str, Any]:
    """A component section's options as plain data, from a typed config or a stored one."""
    if isinstance(config, (RunConfig, LearnConfig)):
        return getattr(config, section).values()  # a portfolio's mutator section: ConfigError
    options = dict(config[section])
    options.pop("name", None)
    return options


def dump_yaml(config: RunConfig | LearnConfig | dict[str, Any]) -> str:
    data = config.as_dict() if isinstance(config, (RunConfig, LearnConfig)) else config
    return yaml.safe_dump(data, sort_keys=False)
