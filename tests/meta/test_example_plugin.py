"""The example plugin in examples/elm-plugin-example: listed by `elm plugins --json` when
installed, and installed and tested by CI exactly as its README says."""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "elm-plugin-example"
DISTRIBUTION = "elm-plugin-example"


def elm_command() -> list[str]:
    script = Path(sys.executable).with_name("elm")
    found = str(script) if script.exists() else shutil.which("elm")
    if found is None:
        pytest.fail("the `elm` console script is not installed; run `pip install -e .` first")
    return [found]


def installed() -> bool:
    try:
        md.distribution(DISTRIBUTION)
    except md.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not installed(), reason=f"{DISTRIBUTION} is not installed; install it with "
                    "`python -m pip install ./examples/elm-plugin-example` (CI does)")
def test_installed_example_is_listed_by_elm_plugins():
    done = subprocess.run(elm_command() + ["plugins", "--json"], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    assert "curve" in listed, f"`elm plugins --json` does not list the example: {sorted(listed)}"
    curve = listed["curve"]
    assert curve["ok"], curve["errors"]
    assert curve["distribution"] == DISTRIBUTION
    assert curve["module"] == "elm_example_plugin.plugin"
    assert curve["registered"] == {"domain": ["curve"], "mutator": ["nudge"], "command": ["curve-targets"]}


def readme_commands() -> list[str]:
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def test_ci_installs_and_tests_the_example_as_its_readme_says():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_lines = [line.strip() for line in ci.splitlines()]
    commands = readme_commands()
    install = [c for c in commands if c.startswith("python -m pip install") and "-e " not in c]
    tests = [c for c in commands if c.startswith("python -m pytest")]
    assert install and tests, "the example README gives no install or test command"
    for command in install + tests:
        assert command in ci_lines, f".ci/run does not run the example README's command as written: {command}"

