"""Finds, loads and isolates plugins; keeps the registry of what each one added.

Plugins are found through the entry-point group ``elm``, loaded lazily and once. A plugin
that fails to import, has a misspelt hook or raises inside a hook is recorded with its
error and left out; the others and the CLI keep working. A name registered twice for the
same kind is rejected with a message that names both plugins.
"""

from __future__ import annotations

import difflib
import sys
import importlib.metadata as md
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from elmcore import hookspecs
from elmcore.interfaces import ConditionalLearner, Domain, Mutator, QDAlgorithm

ENTRY_POINT_GROUP = "elm"

_BASES: dict[str, type] = {
    "domain": Domain,
    "mutator": Mutator,
    "qd": QDAlgorithm,
    "learner": ConditionalLearner,
}

KIND_LABELS = {
    "domain": "domain",
    "mutator": "mutator",
    "qd": "QD algorithm",
    "learner": "conditional learner",
    "command": "command",
}


class PluginError(Exception):
    """A plugin problem a user can act on (unknown name, duplicate, bad registration)."""


class UnknownComponent(PluginError):
    pass


@dataclass
class Registration:
    kind: str
    name: str
    obj: Any
    plugin: str
    help: str = ""


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    errors: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    traceback: str | None = None  # of an import failure, for `elm plugins --verbose`

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "ok": not self.errors,
            "errors": list(self.errors),
            "registered": {k: list(v) for k, v in self.registered.items()},
        }


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PluginManager:
    """Loads the ``elm`` entry points (or plugins handed in directly, for tests)."""

    def __init__(self, entry_point_group: str | None = ENTRY_POINT_GROUP,
                 plugins: Iterable[tuple[str, Any]] = ()) -> None:
        self._group = entry_point_group
        self._extra = list(plugins)
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._loaded = False
        self._failed_lifecycle: set[str] = set()  # plugins whose lifecycle hook raised
        self._infos: dict[str, PluginInfo] = {}
        self._registry: dict[str, dict[str, Registration]] = {k: {} for k in hookspecs.KINDS}

    # -- loading -------------------------------------------------------------------
    def load(self) -> "PluginManager":
        if self._loaded:
            return self
        self._loaded = True
        if self._group:
            eps = sorted(md.entry_points(group=self._group), key=lambda e: e.name)
            for ep in eps:
                dist = getattr(ep, "dist", None)
                info = PluginInfo(name=ep.name, module=ep.value,
                                  distribution=dist.metadata["Name"] if dist else None,
                                  version=dist.version if dist else None)
                if ep.name in self._infos:
                    info.errors.append(f"entry point name {ep.name!r} is used by two distributions; "
                                       f"rename one of them")
                    continue
                self._infos[ep.name] = info
                try:
                    obj = ep.load()
                except Exception as exc:  # a broken plugin must not take the CLI down
                    info.errors.append(f"import failed: {_one_line(exc)}")
                    info.traceback = traceback.format_exc()
                    continue
                self._add(ep.name, obj, info)
        for name, obj in self._extra:
            info = PluginInfo(name=name, module=getattr(obj, "__name__", repr(obj)))
            self._infos[name] = info
            self._add(name, obj, info)
        self._call_hooks()
        return self

    def _add(self, name: str, obj: Any, info: PluginInfo) -> None:
        try:
            self._pm.register(obj, name=name)
        except Exception as exc:
            info.errors.append(f"not registered: {_one_line(exc)}")
            return
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            info.errors.append(f"unknown hook (typo?): {_one_line(exc)}; known hooks: "
                               + ", ".join(hookspecs.KINDS.values()))
            self._pm.unregister(obj)

    def _call_hooks(self) -> None:
        for kind, hook_name in hookspecs.KINDS.items():
            hook = getattr(self._pm.hook, hook_name)
            # call each implementation alone so one failing plugin is isolated
            for impl in hook.get_hookimpls():  # in registration order: first come, first served
                info = self._infos[impl.plugin_name]
                try:
                    impl.function(register=self._make_register(kind, impl.plugin_name))
                except Exception as exc:
                    info.errors.append(f"{hook_name} failed: {_one_line(exc)}")

    def reject(self, plugin: str, message: str) -> None:
        """Record a problem with something a plugin registered (shown by `elm plugins`)."""
        self._infos[plugin].errors.append(message)

    def _make_register(self, kind: str, plugin: str) -> Callable[..., None]:
        def register(obj: Any, *args: Any, **kwargs: Any) -> None:
            if kind == "command":
                name, function = obj, (args[0] if args else kwargs.get("function"))
                if not isinstance(name, str) or not callable(function):
                    raise PluginError("register a command as register(name, function, help='...')")
                reg = Registration(kind, name, function, plugin, kwargs.get("help", "") or "")
            else:
                base = _BASES[kind]
                if not (isinstance(obj, type) and issubclass(obj, base)):
                    raise PluginError(f"{obj!r} is not a subclass of elmcore.{base.__name__}")
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"{obj.__name__} has no string attribute 'name'")
                reg = Registration(kind, name, obj, plugin, getattr(obj, "description", "") or "")
            self._record(reg)

        return register

    def _record(self, reg: Registration) -> None:
        table = self._registry[reg.kind]
        if reg.name in table:
            first = table[reg.name]
            msg = (f"{KIND_LABELS[reg.kind]} {reg.name!r} from plugin {reg.plugin!r} rejected: "
                   f"plugin {first.plugin!r} already registers that name")
            self._infos[reg.plugin].errors.append(msg)
            return
        table[reg.name] = reg
        self._infos[reg.plugin].registered.setdefault(reg.kind, []).append(reg.name)

    # -- lifecycle -----------------------------------------------------------------
    def batch_committed(self, run_dir: Any, batch: int, stats: Any, records: list[Any]) -> None:
        """Tell every plugin that implements ``elm_batch_committed``. A plugin whose hook
        raises is reported once on stderr and not called again by this manager."""
        self.load()
        failed = self._failed_lifecycle
        for impl in self._pm.hook.elm_batch_committed.get_hookimpls():
            if impl.plugin_name in failed:
                continue
            try:
                impl.function(run_dir=str(run_dir), batch=batch, stats=stats, records=records)
            except Exception as exc:  # a live view must not end a run
                failed.add(impl.plugin_name)
                print(f"elm: plugin {impl.plugin_name!r}: elm_batch_committed failed ({_one_line(exc)}); "
                      "it is not called again in this run", file=sys.stderr)

    # -- queries -------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        self.load()
        return list(self._infos.values())

    def names(self, kind: str) -> list[str]:
        self.load()
        return sorted(self._registry[kind])

    def registration(self, kind: str, name: str) -> Registration:
        self.load()
        table = self._registry[kind]
        if name in table:
            return table[name]
        label = KIND_LABELS[kind]
        close = difflib.get_close_matches(name, list(table), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(table)) or "none installed"
        raise UnknownComponent(f"unknown {label} {name!r}.{hint} Installed: {known} (see `elm plugins`).")

    def get(self, kind: str, name: str) -> Any:
        return self.registration(kind, name).obj

    def defaults(self, kind: str) -> list[str]:
        """Names of the components of ``kind`` registered with ``default = True``."""
        self.load()
        return sorted(n for n, reg in self._registry[kind].items() if getattr(reg.obj, "default", False) is True)

    def versions(self) -> dict[str, dict[str, Any]]:
        """What a run records about the plugins it used."""
        return {p.name: {"distribution": p.distribution, "version": p.version, "module": p.module,
                         "ok": not p.errors} for p in self.plugins()}


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide manager over installed entry points, loaded on first use."""
    global _MANAGER
    if _MANAGER is None:
        _MANAGER = PluginManager()
    return _MANAGER.load()
