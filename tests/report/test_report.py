"""elm report: one self-contained page of runs and comparisons, checked as text and, where
Chromium is installed, as a person sees it (no console errors, a screenshot that is not blank)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

SECTIONS = ("summary", "progress", "outcomes", "archive", "elites", "lineage", "compare")


def elm(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    """A parity run, a Sodarace run and a comparison, in one report."""
    work = tmp_path_factory.mktemp("report")
    for args in (["run", "--domain", "parity", "--mutator", "gp", "--evals", "400", "--batch-size", "50",
                  "--out", "parity"],
                 ["run", "--domain", "sodarace", "--mutator", "gp", "--evals", "48", "--batch-size", "16",
                  "--set", "domain.physics.duration_s=2", "--out", "soda"],
                 ["compare", "--domain", "quadratic", "--mutators", "gp", "--bugs", "1-2", "--trials", "60",
                  "--out", "cmp"]):
        done = elm(*args, "--quiet" if args[0] == "run" else "--workers", *([] if args[0] == "run" else ["1"]),
                   cwd=work)
        assert done.returncode == 0, done.stderr[-2000:]
    done = elm("report", "parity", "soda", "cmp", "--out", "report.html", "--top", "2", cwd=work)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 run(s), 1 comparison(s)" in done.stdout
    return work / "report.html", (work / "report.html").read_text(encoding="utf-8")


def test_every_section_is_there_and_nothing_is_fetched(report) -> None:
    _, text = report
    for section in SECTIONS:
        assert f'<section id="{section}">' in text, section
    assert not re.search(r'(src|href)="(https?:)?//', text)  # self-contained: no network needed
    assert "<script" not in text
    assert "duplicates % of proposals" in text  # the share of children not evaluated again, per run and operator


def test_images_are_inline_and_decode(report) -> None:
    _, text = report
    images = re.findall(r'src="data:image/(png|gif);base64,([^"]+)"', text)
    kinds = [kind for kind, _ in images]
    # progress; outcomes and archive per run; two animated Sodarace elites; the comparison
    assert kinds.count("png") == 6 and kinds.count("gif") == 2, kinds
    for kind, data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as picture:
            assert picture.format == kind.upper() and picture.width > 100
            if kind == "gif":
                assert picture.n_frames > 10  # an animation, not a still


def test_runs_are_labelled_and_the_lineage_leads_to_the_best(report) -> None:
    _, text = report
    assert "gp · square · seed 0" in text and "gp · seed 0" in text
    lineage = text.split('<section id="lineage">')[1]
    assert "step 0: candidate 0" in lineage  # from the seed
    assert lineage.count("<details") >= 2


def test_bad_sources_are_one_line_errors(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    done = elm("report", "empty", "--out", "r.html", cwd=tmp_path)
    assert done.returncode == 2 and "holds neither a run" in done.stderr and done.stderr.count("\n") == 1
    done = elm("report", "missing", "--out", "r.html", cwd=tmp_path)
    assert done.returncode == 2 and "not a directory" in done.stderr
    assert not (tmp_path / "r.html").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install -y chromium; CI does)")
def test_chromium_shows_the_report_without_errors(report, tmp_path) -> None:
    path, _ = report
    shot = tmp_path / "shot.png"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1280,4000",
                           path.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.exists(), done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    with Image.open(shot) as picture:
        grey = picture.convert("L")
        assert grey.getextrema()[0] < 100  # text and plots drawn, not a blank page
        histogram = grey.histogram()
        assert sum(histogram[:200]) > 0.02 * sum(histogram)  # a good part of the page is ink
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom
