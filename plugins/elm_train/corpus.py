"""A code corpus from the Python source a machine already holds: the interpreter's standard
library, the installed packages (site-packages), or directories a user names.

Every file is read as UTF-8 and parsed; files over a size limit, that are not UTF-8 or that
do not parse are left out and counted. Exact duplicates (same text once trailing spaces
are dropped) and near duplicates (the sets of their non-blank lines overlap by at least
``near`` in Jaccard terms, found with MinHash and checked exactly) are dropped, the first
file in path order kept. A file becomes one record, or, when it is longer than
``max_record_chars``, one record per top-level definition plus one for what lies between
them (imports, constants). The held-out split is by the file's content hash, so all
records of a file fall on one side.

A package is used only when its licence is permissive (``licences.py``); the manifest names
every package met, with its version, its licence, where the licence was read, how many
files it gave, and why it was left out when it was."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata as metadata
import sysconfig
import warnings
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from elm_train.licences import Licence, classify, licence_of_tree

CORPUS_VERSION = 1
SOURCES = ("stdlib", "site-packages")
STDLIB_LICENCE = Licence("PSF-2.0", "the Python standard library", True)


class CorpusError(ValueError):
    """A corpus that cannot be built; the message names the input and what to do."""


@dataclass(frozen=True)
class CodeRecord:
    """One training text of the corpus: a file, or one top-level part of a long file."""

    name: str
    package: str
    version: str
    licence: str
    text: str
    prompt: str
    completion: str
    file_sha: str


@dataclass
class PackageInfo:
    name: str
    version: str
    licence: str
    licence_source: str
    included: bool
    reason: str = ""
    files: int = 0
    kept_files: int = 0
    bytes: int = 0


@dataclass
class Counts:
    files: int = 0
    too_large: int = 0
    not_utf8: int = 0
    not_parsing: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    kept: int = 0
    records: int = 0
    chars: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, path: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        shown = self.examples.setdefault(kind, [])
        if len(shown) < 5:
            shown.append(path)


@dataclass
class SourceFile:
    path: Path
    name: str  # shown in records: package-relative
    package: str


# -- where the files are --------------------------------------------------------------
def stdlib_files() -> tuple[list[SourceFile], PackageInfo]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [SourceFile(p, str(p.relative_to(root)), "stdlib") for p in sorted(root.rglob("*.py"))
             if "site-packages" not in p.parts and "dist-packages" not in p.parts
             and "__pycache__" not in p.parts]
    import platform

    info = PackageInfo("stdlib", platform.python_version(), STDLIB_LICENCE.expression, STDLIB_LICENCE.source, True)
    return files, info


def site_package_files(include_unknown: bool = False) -> tuple[list[SourceFile], list[PackageInfo]]:
    """The .py files of every installed distribution whose licence allows use, and what was
    found of each distribution (used or not)."""
    roots = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    files: list[SourceFile] = []
    infos: dict[str, PackageInfo] = {}
    for dist in sorted(metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = dist.metadata["Name"] or "?"
        if name in infos:
            continue
        listed = []
        for entry in dist.files or []:
            path = Path(dist.locate_file(entry)).resolve()
            if not any(root in path.parents for root in roots):
                continue  # an editable install's own sources, or scripts outside site-packages
            listed.append((str(entry), path))
        licence = classify(dist.metadata, listed)
        info = PackageInfo(name, dist.version or "?", licence.expression, licence.source,
                           licence.permissive or (include_unknown and not licence.expression))
        if not info.included:
            info.reason = licence.why_not
        sources = [(n, p) for n, p in listed if n.endswith(".py") and "__pycache__" not in n]
        info.files = len(sources)
        infos[name] = info
        if info.included:
            files.extend(SourceFile(p, n, name) for n, p in sorted(sources))
        elif not sources:
            info.reason = info.reason or "no Python source"
    return files, list(infos.values())


def path_files(path: Path, include_unknown: bool = False) -> tuple[list[SourceFile], PackageInfo]:
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path} does not exist; pass stdlib, site-packages or directories of Python files")
    root = path if path.is_dir() else path.parent
    listed = sorted(path.rglob("*.py")) if path.is_dir() else [path]
    listed = [p for p in listed if "__pycache__" not in p.parts]
    if not listed:
        raise CorpusError(f"{path} holds no Python files (*.py); pass a directory of Python source")
    licence = licence_of_tree(root)
    included = licence.permissive or (include_unknown and not licence.expression)
    info = PackageInfo(str(path), "-", licence.expression, licence.source, included,
                       "" if included else licence.why_not + (
                           " (add a licence file, or pass --include-unknown if you may use this code)"
                           if not licence.expression else ""))
    info.files = len(listed)
    files = [SourceFile(p, str(p.relative_to(root)), str(path)) for p in listed] if included else []
    return files, info


# -- reading and cutting -----------------------------------------------------------------
def _parses(text: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in old code are still code
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def split_top_level(text: str, max_chars: int) -> list[tuple[str, str]]:
    """(suffix, text) parts of a long module: each top-level function or class (with its
    decorators and the comment lines right above it), and the runs of other statements
    between them. A short module is one part."""
    if len(text) <= max_chars:
        return [("", text)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    parts: list[tuple[str, str]] = []
    pending_start = 0  # first line (0-based) not yet in a part
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        while start > pending_start and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        end = node.end_lineno or node.lineno
        between = "".join(lines[pending_start:start])
        if between.strip():
            parts.append((f"::{len(parts)}", between))
        parts.append((f"::{node.name}", "".join(lines[start:end])))
        pending_start = end
    rest = "".join(lines[pending_start:])
    if rest.strip():
        parts.append((f"::{len(parts)}", rest))
    return [(s, t if t.endswith("\n") else t + "\n") for s, t in parts]


def _line_set(text: str) -> np.ndarray:
    hashes = {zlib.crc32(line.strip().encode("utf-8", "surrogatepass")) for line in text.splitlines() if line.strip()}
    return np.fromiter(hashes, dtype=np.uint64, count=len(hashes))


class NearDuplicates:
    """MinHash with banded locality-sensitive hashing over the sets of stripped non-blank
    lines; a candidate pair is confirmed with the exact Jaccard index."""

    def __init__(self, threshold: float = 0.8, permutations: int = 32, bands: int = 16, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, permutations, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 2**63, permutations, dtype=np.uint64)
        self.threshold = threshold
        self.bands = bands
        self.rows = permutations // bands
        self.buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
        self.sets: list[set[int]] = []

    def seen(self, text: str) -> bool:
        """Whether ``text`` is near a text added before; if not, it is added."""
        lines = _line_set(text)
        if len(lines) < 3:
            return False  # too short to call a near copy; exact duplicates are caught elsewhere
        with np.errstate(over="ignore"):
            signature = ((lines[:, None] * self.a[None, :] + self.b[None, :]) >> np.uint64(32)).min(axis=0)
        keys = [(band, signature[band * self.rows:(band + 1) * self.rows].tobytes()) for band in range(self.bands)]
        mine = set(lines.tolist())
        checked: set[int] = set()
        for key in keys:
            for other in self.buckets.get(key, ()):
                if other in checked:
                    continue
                checked.add(other)
                theirs = self.sets[other]
                if len(mine & theirs) / len(mine | theirs) >= self.threshold:
                    return True
        index = len(self.sets)
        self.sets.append(mine)
        for key in keys:
            self.buckets[key].append(index)
        return False


def held_out(file_sha: str, fraction: float) -> bool:
    return fraction > 0 and int(file_sha[:16], 16) / 2**64 < fraction


def build_corpus(sources: list[str], include_unknown: bool = False, max_file_bytes: int = 100_000,
                 max_record_chars: int = 6_000, near: float = 0.8, holdout: float = 0.01,
                 progress=lambda done, total: None) -> tuple[list[dict], list[dict], dict]:
    """(train rows, held-out rows, manifest) of a corpus of ``sources``: ``stdlib``,
    ``site-packages``, or paths."""
    files: list[SourceFile] = []
    packages: list[PackageInfo] = []
    for source in sources:
        if source == "stdlib":
            found, info = stdlib_files()
            files += found
            packages.append(info)
        elif source == "site-packages":
            found, infos = site_package_files(include_unknown)
            files += found
            packages += infos
        else:
            found, info = path_files(Path(source), include_unknown)
            files += found
            packages.append(info)
    if not files:
        left = [p for p in packages if not p.included]
        raise CorpusError(f"no Python file of {', '.join(sources)} may be used: "
                          + ("; ".join(f"{p.name}: {p.reason}" for p in left[:3]) or "none was found")
                          + "; nothing was written")
    by_name = {p.name: p for p in packages}
    counts = Counts()
    exact: set[str] = set()
    near_index = NearDuplicates(threshold=near)
    train: list[dict] = []
    test: list[dict] = []
    seen_paths: set[Path] = set()
    for done, source in enumerate(files):
        progress(done, len(files))
        real = source.path.resolve()
        if real in seen_paths:
            continue
        seen_paths.add(real)
        shown = f"{source.package}/{source.name}" if source.package != "stdlib" else f"stdlib/{source.name}"
        counts.files += 1
        try:
            raw = source.path.read_bytes()
        except OSError:
            counts.note("not_utf8", shown)
            continue
        info = by_name[source.package]
        if len(raw) > max_file_bytes:
            counts.note("too_large", shown)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            counts.note("not_utf8", shown)
            continue
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip() or not _parses(text):
            counts.note("not_parsing", shown)
            continue
        key = hashlib.sha256("\n".join(line.rstrip() for line in text.splitlines()).encode(
            "utf-8", "surrogatepass")).hexdigest()
        if key in exact:
            counts.note("exact_duplicates", shown)
            continue
        exact.add(key)
        if near_index.seen(text):
            counts.note("near_duplicates", shown)
            continue
        counts.kept += 1
        info.kept_files += 1
        info.bytes += len(raw)
        side = test if held_out(key, holdout) else train
        for suffix, part in split_top_level(text, max_record_chars):
            side.append(asdict(CodeRecord(name=shown + suffix, package=source.package, version=info.version,
                                          licence=info.licence, text=part, prompt="", completion=part,
                                          file_sha=key[:16])))
            counts.records += 1
            counts.chars += len(part)
    progress(len(files), len(files))
    if not train:
        raise CorpusError(f"every Python file of {', '.join(sources)} was left out ({counts.files} read: "
                          f"{counts.too_large} too large, {counts.not_utf8} not UTF-8, {counts.not_parsing} do not "
                          f"parse, {counts.exact_duplicates + counts.near_duplicates} duplicates); nothing was written")
    summary = asdict(counts)
    manifest = {
        "corpus_version": CORPUS_VERSION, "sources": sources, "include_unknown": include_unknown,
        "max_file_bytes": max_file_bytes, "max_record_chars": max_record_chars, "near_duplicate_jaccard": near,
        "holdout": holdout, "counts": summary,
        "packages": [asdict(p) for p in sorted(packages, key=lambda p: p.name.lower())],
        "left_out_packages": {p.name: p.reason for p in packages if not p.included},
    }
    return train, test, manifest
