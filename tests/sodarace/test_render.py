"""elm render: GIF animations and PNG strips of the right size, from a file or a run."""

from __future__ import annotations

import os

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from elm_seeds import read_seed
from elmcore.plugins import get_plugin_manager
from elmcore.store import CandidateRecord, RunStore
from elm_sodarace.render_command import render_command

app = typer.Typer()
app.command("render")(render_command)


@app.callback()
def _group() -> None:
    """Makes ``render`` a subcommand, as under ``elm``."""


def render(*args: str):
    return CliRunner().invoke(app, ["render", *map(str, args)])


@pytest.fixture
def square_file(tmp_path):
    path = tmp_path / "square.py"
    path.write_text(read_seed("sodarace", "square"))
    return path


def test_gif_has_one_frame_per_twentieth_of_a_second(square_file, tmp_path):
    out = tmp_path / "walk.gif"
    result = render(square_file, "--out", out, "--duration", "2", "--width", "320", "--height", "200")
    assert result.exit_code == 0, result.output
    with Image.open(out) as gif:
        assert gif.size == (320, 200)
        assert gif.n_frames == 41  # the start plus 20 per simulated second
    assert "moved +" in result.output


def test_png_is_a_strip_of_frames(square_file, tmp_path):
    out = tmp_path / "walk.png"
    result = render(square_file, "--out", out, "--terrain", "bumpy", "--duration", "1", "--width", "200",
                    "--height", "120", "--strip", "4")
    assert result.exit_code == 0, result.output
    with Image.open(out) as png:
        assert png.size == (800, 120)


def test_a_seed_renders_by_name(tmp_path):
    out = tmp_path / "walk.png"
    result = render("cppn_fixed", "--out", out, "--duration", "0.5", "--width", "100", "--height", "60",
                    "--strip", "2")
    assert result.exit_code == 0, result.output
    assert "of cppn_fixed on flat" in result.output


def test_strip_frames_fall_on_different_phases_of_the_gait():
    from elm_sodarace.render import strip_picks

    # 10 s at 20 frames/s (201 frames), muscles of period 0.5 s, 6 frames: evenly spaced frames
    # would fall at 0, 2, 4, 6, 8, 10 s, every one at the same phase
    picks = strip_picks(201, 0.05, 0.5, 6)
    assert picks[0] == 0 and picks == sorted(picks) and max(picks) <= 200
    phases = [round((i * 0.05) % 0.5, 3) for i in picks]
    assert len(set(phases)) == 6, phases
    assert all(abs(i * 0.05 - t) <= 0.25 + 1e-9 for i, t in zip(picks, [0, 2, 4, 6, 8, 10]))  # near even spacing
    assert strip_picks(201, 0.05, 0.5, 1) == [0]


def test_frames_show_muscles_in_colour(square_file, tmp_path):
    out = tmp_path / "walk.png"
    render(square_file, "--out", out, "--duration", "0.5", "--strip", "1")
    with Image.open(out) as png:
        colours = {c for _, c in png.convert("RGB").getcolors(1 << 16)}
    saturated = [c for c in colours if max(c) - min(c) > 150]
    assert saturated, "no muscle colour drawn"


@pytest.mark.parametrize("args, message", [
    (["missing.py"], "no such file"),
    (["{square}", "--out", "x.mp4"], "use a .gif"),
    (["{square}", "--terrain", "tunel"], "Did you mean 'tunnel'"),
    (["{square}", "--best"], "apply to a run directory"),
    (["{bad}"], "the walker is invalid: walker has 1 joints"),
    (["sqare"], "give a .py program, a run directory or a seed name (cppn-fixed, "),
    (["{crash}"], "the program did not run: ZeroDivisionError"),
])
def test_errors_are_one_line_not_tracebacks(args, message, square_file, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from walk_creator import walker_creator\ndef make_walker():\n    wc = walker_creator()\n"
                   "    wc.add_joint(0, 0)\n    return wc.get_walker()\n")
    crash = tmp_path / "crash.py"
    crash.write_text("def make_walker():\n    return 1 / 0\n")
    args = [a.format(square=square_file, bad=bad, crash=crash) for a in args]
    result = render(*args, "--out", tmp_path / "out.gif") if "--out" not in args else render(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_program_runs_in_the_sandbox_not_in_the_cli(tmp_path):
    program = tmp_path / "sneaky.py"
    program.write_text("import os\nos.environ['ELM_SNEAKY'] = str(os.getpid())\n" + read_seed("sodarace", "square"))
    result = render(program, "--out", tmp_path / "out.gif", "--duration", "0.5")
    assert result.exit_code == 0, result.output
    assert "ELM_SNEAKY" not in os.environ  # the program's side effects stayed in the sandbox child


@pytest.fixture
def run_dir(tmp_path):
    """A run store holding the Square seed as the elite of its niche."""
    from elm_sodarace.behaviour import behaviour_space

    qd_cls = get_plugin_manager().get("qd", "map-elites")
    qd = qd_cls(qd_cls.Config(), space=behaviour_space(), seed=0)
    niche = qd.niche_of((10.0, 10.0, 11.83))
    store = RunStore.create(tmp_path / "run")
    store.set_meta("config", {"run": {"seed": 0}, "domain": {"name": "sodarace", "terrain": "flat"},
                              "qd": {"name": "map-elites"}})
    record = CandidateRecord(id=0, batch=0, parent_id=None, operator="seed", outcome="valid",
                             program=read_seed("sodarace", "square"), fitness=62.0,
                             descriptors=(10.0, 10.0, 11.83), niche=niche, status="new", entered=True)
    store.commit_batch(0, [record], 0.0, 0.0, {})
    store.close()
    return tmp_path / "run", qd.cell_of(niche)


def test_render_best_of_a_run(run_dir, tmp_path):
    path, _ = run_dir
    result = render(path, "--best", "--out", tmp_path / "best.gif", "--duration", "0.5")
    assert result.exit_code == 0, result.output
    assert "best walker: candidate 0" in result.output


def test_render_niche_of_a_run(run_dir, tmp_path):
    path, cell = run_dir
    result = render(path, "--niche", ",".join(map(str, cell)), "--out", tmp_path / "n.png", "--duration", "0.5")
    assert result.exit_code == 0, result.output
    empty = render(path, "--niche", "0,0,0", "--out", tmp_path / "n.png")
    assert empty.exit_code == 2 and "is empty" in empty.output
