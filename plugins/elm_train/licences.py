"""Which licence a package of Python source is under, and whether a corpus may use it.

The answer comes from what the installed package says of itself: its ``License-Expression``
(SPDX), its ``License`` field (a name, or a whole licence text), its trove classifiers, or
a licence file it ships. A package is *permissive* when every licence it must be used
under is one of ``PERMISSIVE`` (an SPDX ``OR`` needs one permissive side, ``AND`` needs
all). Copyleft licences (GPL, LGPL, AGPL, and MPL, whose file-level copyleft a trained
model cannot honour) and licences that cannot be told are not permissive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

PERMISSIVE = frozenset({
    "MIT", "MIT-CMU", "MIT-0", "BSD", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "Apache-2.0", "ISC", "PSF-2.0",
    "Python-2.0", "CNRI-Python", "Zlib", "CC0-1.0", "Unlicense", "HPND", "BSL-1.0", "PSF",
})

# a licence's usual names (lower case, punctuation squeezed) -> its SPDX-like id
_NAMES = {
    "mit": "MIT", "mit license": "MIT", "the mit license": "MIT", "expat": "MIT", "mit-cmu": "MIT-CMU",
    "bsd": "BSD", "bsd license": "BSD", "new bsd": "BSD-3-Clause", "new bsd license": "BSD-3-Clause",
    "bsd-3-clause": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause", "bsd 3 clause": "BSD-3-Clause",
    "3-clause bsd": "BSD-3-Clause", "modified bsd": "BSD-3-Clause", "bsd-2-clause": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause", "bsd 2-clause": "BSD-2-Clause", "0bsd": "0BSD",
    "apache": "Apache-2.0", "apache 2": "Apache-2.0", "apache 2.0": "Apache-2.0", "apache-2.0": "Apache-2.0",
    "apache license": "Apache-2.0", "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0",
    "apache 2.0 license": "Apache-2.0", "apache software license": "Apache-2.0", "isc": "ISC",
    "isc license": "ISC", "isc license (iscl)": "ISC", "psf": "PSF-2.0", "psf-2.0": "PSF-2.0",
    "python software foundation license": "PSF-2.0", "zlib": "Zlib", "zlib/libpng": "Zlib",
    "cc0-1.0": "CC0-1.0", "unlicense": "Unlicense", "the unlicense (unlicense)": "Unlicense", "hpnd": "HPND",
    "historical permission notice and disclaimer (hpnd)": "HPND", "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mpl-2.0": "MPL-2.0", "mpl 2.0": "MPL-2.0",
    "gpl": "GPL", "gplv2": "GPL-2.0", "gplv3": "GPL-3.0", "lgpl": "LGPL", "agpl": "AGPL",
    "gnu general public license v2 (gplv2)": "GPL-2.0", "gnu general public license v3 (gplv3)": "GPL-3.0",
    "gnu general public license (gpl)": "GPL", "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu library or lesser general public license (lgpl)": "LGPL",
    "gnu affero general public license v3": "AGPL-3.0", "osi approved": "",
}
# words in a whole licence text -> its id (first match wins; copyleft first)
_TEXT_MARKS = (
    ("GNU AFFERO GENERAL PUBLIC", "AGPL"), ("GNU LESSER GENERAL PUBLIC", "LGPL"),
    ("GNU LIBRARY GENERAL PUBLIC", "LGPL"), ("GNU GENERAL PUBLIC", "GPL"), ("Mozilla Public License", "MPL-2.0"),
    ("Apache License", "Apache-2.0"), ("Permission is hereby granted, free of charge", "MIT"),
    ("Redistribution and use in source and binary forms", "BSD"), ("PYTHON SOFTWARE FOUNDATION", "PSF-2.0"),
    ("License agreement for matplotlib", "PSF-2.0"), ("Permission to use, copy, modify, and/or distribute", "ISC"),
    ("This software is provided 'as-is'", "Zlib"), ("This is free and unencumbered software", "Unlicense"),
)
_LICENCE_FILE = re.compile(r"(^|/)(LICEN[CS]E|COPYING)[^/]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Licence:
    """What was found: ``expression`` (SPDX-like, "" when unknown), where it was read
    (``source``), and whether a corpus may use the package."""

    expression: str
    source: str
    permissive: bool

    @property
    def why_not(self) -> str:
        if self.permissive:
            return ""
        if not self.expression:
            return "no licence could be found in the package's metadata or files"
        return f"licence {self.expression} is not permissive"


def _name_id(name: str) -> str | None:
    key = re.sub(r"\s+", " ", name.strip().strip(".").lower())
    if key in _NAMES:
        return _NAMES[key]
    for spdx in PERMISSIVE | {"GPL-2.0", "GPL-3.0", "LGPL-2.1", "LGPL-3.0", "AGPL-3.0", "MPL-2.0"}:
        if key == spdx.lower() or key == spdx.lower() + " license":
            return spdx
    return None


def expression_permissive(expression: str) -> bool:
    """Whether an SPDX-like expression allows use: OR needs one permissive side, AND needs
    all; ``WITH`` exceptions only widen a licence; parentheses are honoured."""
    text = expression.strip()
    if not text:
        return False
    for op in (" OR ", " AND "):
        parts, current, depth = [], "", 0
        i = 0
        while i < len(text):
            ch = text[i]
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and text.startswith(op, i):
                parts.append(current)
                current = ""
                i += len(op)
                continue
            current += ch
            i += 1
        if len(parts) > 0:
            parts.append(current)
            results = [expression_permissive(p) for p in parts]
            return any(results) if op == " OR " else all(results)
    if text.startswith("(") and text.endswith(")"):
        return expression_permissive(text[1:-1])
    base = text.split(" WITH ")[0].strip().removesuffix("+")
    return base in PERMISSIVE


def from_text(text: str) -> str | None:
    """The id of a whole licence text, from the words it holds."""
    for mark, spdx in _TEXT_MARKS:
        if mark.lower() in text.lower():
            return spdx
    return None


def _licence_file(name: str, path: Path) -> str | None:
    """The id of the licence in a file named like a licence file, or None."""
    if not _LICENCE_FILE.search(name):
        return None
    try:
        return from_text(path.read_text(encoding="utf-8", errors="replace")[:20000])
    except OSError:
        return None


def classify(metadata, files: list[tuple[str, Path]] | None = None) -> Licence:
    """The licence of an installed distribution, from its metadata (``importlib.metadata``
    ``PackageMetadata``) and, failing that, the licence files it ships
    (``(relative name, absolute path)`` pairs)."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return Licence(expression, "License-Expression", expression_permissive(expression))
    field = (metadata.get("License") or "").strip()
    if field and "\n" not in field and len(field) < 80:
        named = _name_id(field)
        if named is None and re.fullmatch(r"[\w.\-+ ()]+", field):
            if " AND " in field or " OR " in field:
                return Licence(field, "License", expression_permissive(field))
        if named:
            return Licence(named, "License", expression_permissive(named))
    elif field:
        found = from_text(field)
        if found:
            return Licence(found, "License (text)", expression_permissive(found))
    classifiers = [c.split("::")[-1].strip() for c in (metadata.get_all("Classifier") or [])
                   if c.startswith("License ::")]
    ids = [i for i in (_name_id(c) for c in classifiers) if i]
    if ids:
        expression = " OR ".join(sorted(set(ids)))  # a package listing several licences offers each
        return Licence(expression, "classifiers", expression_permissive(expression))
    for name, path in files or []:
        found = _licence_file(name, path)
        if found:
            return Licence(found, f"file {name}", expression_permissive(found))
    if field:
        named = _name_id(field)
        return Licence(named or field, "License", bool(named) and expression_permissive(named))
    return Licence("", "none", False)


def licence_of_tree(root: Path) -> Licence:
    """The licence of a directory of source a user names: from a licence file at its top
    (or one directory up)."""
    for folder in (root, root.parent):
        try:
            candidates = sorted(p for p in folder.iterdir() if p.is_file() and _LICENCE_FILE.search(p.name))
        except OSError:
            continue
        for path in candidates:
            found = _licence_file(path.name, path)
            if found:
                return Licence(found, f"file {path}", expression_permissive(found))
    return Licence("", "none", False)
