"""Options that plugins declare for the built-in commands (``Component.cli_options``: the
sodarace domain's ``--terrain`` on ``elm run``), and the commands plugins add."""

from __future__ import annotations

import copy
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Optional

import typer
import yaml

from elmcore.cli.common import app
from elmcore.config import ConfigError, default_name, mutator_of, operator_labels
from elmcore.plugins import KIND_LABELS, get_plugin_manager

BUILTIN_COMMANDS = ("run", "learn", "resume", "status", "plugins")

# -- options that plugins declare (Component.cli_options) ----------------------------------
COMMAND_SECTIONS = {"run": {"domain": "domain", "mutator": "mutator", "qd": "qd"},
                    "learn": {"learner": "learner"}}
"""The component sections whose plugins may add options to a built-in command."""


@dataclass
class PluginOption:
    """``--terrain`` on ``elm run``: sets ``domain.terrain``; taken by the components in ``owners``."""

    flag: str
    section: str
    key: str
    kind: str
    annotation: Any = str
    help: str = ""
    owners: list[str] = field(default_factory=list)

    @property
    def param(self) -> str:
        return f"plugin_{self.section}_{self.key}"

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"


_PLUGIN_OPTIONS: dict[str, list[PluginOption]] = {"run": [], "learn": []}


def _option_type(annotation: Any) -> Any:
    """int, float or str for the command line; anything else is read as YAML, like --set."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)] \
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else [annotation]
    if len(args) == 1 and args[0] in (int, float, str):
        return args[0]
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal \
            and all(isinstance(v, str) for v in typing.get_args(args[0])):
        return str  # a choice of names: pydantic says which when the value is not one
    return None


def _own_flags(command: Callable[..., Any]) -> set[str]:
    """The option names a built-in command declares itself (``--set``, ``--seed`` ...)."""
    flags = set()
    for param in inspect.signature(command, eval_str=True).parameters.values():
        if param.name == "plugin_options":
            continue
        flags.add("--" + param.name.rstrip("_").replace("_", "-"))
        for meta in getattr(param.annotation, "__metadata__", ()):
            flags.update(d for d in (getattr(meta, "param_decls", None) or ()) if d.startswith("-"))
            default = getattr(meta, "default", None)
            if isinstance(default, str) and default.startswith("-"):
                flags.add(default)
    return flags


def plugin_options(pm: Any, command: str, own: set[str]) -> list[PluginOption]:
    """The options the installed components declare for ``elm COMMAND``. A flag the command
    already has, or one two sections claim, is rejected (shown by `elm plugins`)."""
    found: dict[str, PluginOption] = {}
    for section, kind in COMMAND_SECTIONS[command].items():
        for name in pm.names(kind):
            reg = pm.registration(kind, name)
            for key in getattr(reg.obj, "cli_options", ()) or ():
                fields = reg.obj.Config.model_fields
                flag = "--" + str(key).replace("_", "-")
                if key not in fields:
                    pm.reject(reg.plugin, f"{KIND_LABELS[kind]} {name!r}: cli_options names {key!r}, which is not "
                                          f"a key of its Config ({', '.join(fields) or 'none'})")
                    continue
                if flag in own:
                    pm.reject(reg.plugin, f"{KIND_LABELS[kind]} {name!r}: option {flag} rejected: `elm {command}` "
                                          "has that option itself")
                    continue
                option = found.get(flag)
                if option is not None and option.section != section:
                    pm.reject(reg.plugin, f"{KIND_LABELS[kind]} {name!r}: option {flag} rejected: it already sets "
                                          f"{option.dotted} (for {', '.join(option.owners)})")
                    continue
                info = fields[key]
                if option is None:
                    option = found[flag] = PluginOption(flag, section, str(key), kind, _option_type(info.annotation))
                option.owners.append(name)
                option.help = option.help or (info.description or "")
                if option.annotation is not None and _option_type(info.annotation) != option.annotation:
                    option.annotation = None  # the owners disagree on the type: read it as YAML
    for option in found.values():
        where = f"{option.dotted}; {KIND_LABELS[option.kind]} {', '.join(option.owners)}"
        option.help = f"{option.help} ({where})" if option.help else where
    return sorted(found.values(), key=lambda o: o.flag)


def _check_plugin_options(pm: Any, command: str, data: dict[str, Any], given: dict[str, Any]) -> None:
    """A plugin option given for a component that does not take it: say whose option it is."""
    for option in _PLUGIN_OPTIONS.get(command, []):
        if option.dotted not in given:
            continue
        section = data.get(option.section)
        chosen = section.get("name") if isinstance(section, dict) else None
        chosen = str(chosen or default_name(pm, option.kind, option.section))
        names = [mutator_of(label) for label in operator_labels(chosen)]  # a portfolio: any of them
        if not any(name in option.owners for name in names):
            label = KIND_LABELS[option.kind]
            raise ConfigError(f"{option.flag} is an option of {label} {', '.join(option.owners)}, not of {label} "
                              f"{chosen!r}; leave it out or choose --{option.section} {option.owners[0]}")


def _with_plugin_options(impl: Callable[..., None], command: str, options: list[PluginOption],
                         defaults: dict[str, str] | None = None,
                         aliases: dict[str, list[str]] | None = None) -> Callable[..., None]:
    """``impl`` as a typer command with the plugin options added; their values reach it as
    ``plugin_options={"domain.terrain": "hills"}``. ``defaults``: parameter -> the default
    component, added to its help; ``aliases``: parameter -> more flags for it, with what
    plugins call it (``--terrains`` for ``--conditions``)."""
    signature = inspect.signature(impl, eval_str=True)
    params = []
    for param in signature.parameters.values():
        if param.name == "plugin_options":
            continue
        if param.name in (defaults or {}) or (aliases or {}).get(param.name):
            base, info = typing.get_args(param.annotation)[:2]
            info = copy.copy(info)
            if param.name in (defaults or {}):
                info.help = f"{info.help} (default: {defaults[param.name]})"  # type: ignore[index]
            if (aliases or {}).get(param.name):
                info.param_decls = tuple(info.param_decls or ()) + tuple(aliases[param.name])  # type: ignore[index]
            param = param.replace(annotation=Annotated[base, info])
        params.append(param)
    for option in options:
        params.append(inspect.Parameter(
            option.param, inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[Optional[option.annotation or str], typer.Option(option.flag, help=option.help)]))

    def command_function(**kwargs: Any) -> None:
        given: dict[str, Any] = {}
        for option in options:
            value = kwargs.pop(option.param, None)
            if value is None:
                continue
            if option.annotation is None:  # a list, a bool, a choice: read as YAML, like --set
                try:
                    value = yaml.safe_load(value)
                except yaml.YAMLError:
                    pass
            given[option.dotted] = value
        impl(**kwargs, plugin_options=given)

    command_function.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    command_function.__annotations__ = {p.name: p.annotation for p in params}
    command_function.__doc__ = impl.__doc__
    command_function.__name__ = command
    return command_function


def _install_builtin(command: str, impl: Callable[..., None], options: list[PluginOption],
                     defaults: dict[str, str] | None = None, aliases: dict[str, list[str]] | None = None) -> None:
    _PLUGIN_OPTIONS[command] = options
    function = _with_plugin_options(impl, command, options, defaults, aliases)
    for info in app.registered_commands:
        if info.name == command:
            info.callback = function
            return
    app.command(name=command)(function)


def _condition_flags(pm: Any, own: set[str]) -> list[str]:
    """``--terrains`` where a domain calls its conditions terrains (``Domain.condition_word``);
    a word that would shadow one of the command's own flags is left out."""
    flags = []
    for name in pm.names("domain"):
        try:
            word = str(getattr(pm.get("domain", name), "condition_word", "condition") or "condition")
        except Exception:
            continue
        flag = f"--{word.replace('_', '-')}s"
        if word != "condition" and flag not in own and flag not in flags:
            flags.append(flag)
    return flags


def _add_plugin_commands() -> None:
    from elmcore.cli.runs import learn, run

    pm = get_plugin_manager()
    for command, impl in (("run", run), ("learn", learn)):
        defaults = {section: names[0] for section, kind in COMMAND_SECTIONS[command].items()
                    if len(names := pm.defaults(kind)) == 1}
        aliases = {"conditions": _condition_flags(pm, _own_flags(impl))} if command == "learn" else None
        _install_builtin(command, impl, plugin_options(pm, command, _own_flags(impl)), defaults, aliases)
    for name in pm.names("command"):
        reg = pm.registration("command", name)
        if name in BUILTIN_COMMANDS:
            pm.reject(reg.plugin, f"command {name!r} rejected: it is a built-in elm command; choose another name")
            continue
        if isinstance(reg.obj, typer.Typer):  # a command group: `elm NAME SUBCOMMAND ...`
            app.add_typer(reg.obj, name=name, help=reg.help or None)
        else:
            app.command(name=name, help=reg.help or None)(reg.obj)
