"""``elm render``: animate a walker from a program file or from a run's archive.

The program is untrusted text: it runs only through ``elmcore.sandbox.run_in_sandbox``;
the CLI process sees nothing but the walker data, which it checks like ``evaluate`` does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from elmcore import is_learning_config
from elmcore import run_in_sandbox
from elm_sodarace.domain import SodaraceDomain
from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.render import record, write_gif, write_strip
from elm_sodarace.terrains import Terrain, make_terrain
from elm_sodarace.walker import InvalidWalker, parse_walker

MAX_PROGRAM_BYTES = 200_000


class RenderError(ValueError):
    """A problem with what was asked to render; the message says what to do."""


def _fail(message: str) -> None:
    typer.echo(f"elm render: error: {message}", err=True)
    raise typer.Exit(2)


def _read_program(path: Path) -> str:
    if path.suffix != ".py":
        from elm_sodarace.seed_loading import load_seed, seed_names

        names = seed_names()
        if str(path).replace("_", "-") in names:
            return load_seed(str(path))
        raise RenderError(f"{path}: give a .py program, a run directory or a seed name ({', '.join(names)})")
    if not path.is_file():
        raise RenderError(f"{path}: no such file")
    if path.stat().st_size > MAX_PROGRAM_BYTES:
        raise RenderError(f"{path}: larger than {MAX_PROGRAM_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RenderError(f"{path}: cannot be read as UTF-8 text ({exc})") from None


def _niche_index(niche: str, config: dict[str, Any]) -> int:
    """A flat niche index from "i,j,k" (grid cell) or "N" (flat index), via the run's QD plugin."""
    parts = [p.strip() for p in niche.split(",")]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise RenderError(f"--niche {niche!r}: give a cell as i,j,k or a flat niche index") from None
    if len(numbers) == 1:
        return numbers[0]
    from elmcore import get_plugin_manager

    from elm_sodarace.behaviour import behaviour_space

    qd_section = dict(config.get("qd") or {})
    qd_cls = get_plugin_manager().get("qd", qd_section.pop("name", "map-elites"))
    qd = qd_cls(qd_cls.Config(**qd_section), space=behaviour_space(), seed=config.get("run", {}).get("seed", 0))
    dims = qd.dimensions
    if len(numbers) != len(dims):
        raise RenderError(f"--niche {niche!r}: the run's behaviour space has {len(dims)} dimensions "
                          f"({', '.join(d.name for d in dims)})")
    for value, dim in zip(numbers, dims):
        if not 0 <= value < dim.bins:
            raise RenderError(f"--niche {niche!r}: {dim.name} bin must be 0..{dim.bins - 1}, got {value}")
    if hasattr(qd, "niche_of_cell"):
        return int(qd.niche_of_cell(numbers))
    centre = [d.low + (v + 0.5) * (d.high - d.low) / d.bins for v, d in zip(numbers, dims)]
    return int(qd.niche_of(centre))


def _from_run(run_dir: Path, best: bool, niche: str | None,
              terrain: str | None = None) -> tuple[str, dict[str, Any], str]:
    """(program, domain config of the run, what was picked) of the run's best or a niche's elite;
    in a learning run (`elm learn`) with ``terrain``, the best walker written for that terrain."""
    from elmcore import RunStore, StoreError

    try:
        store = RunStore.open(run_dir, readonly=True)
    except StoreError as exc:
        raise RenderError(str(exc)) from None
    try:
        config = store.get_meta("config") or {}
        domain = config.get("domain") or {}
        if domain.get("name") != SodaraceDomain.name:
            raise RenderError(f"{run_dir} is a run of domain {domain.get('name')!r}; render draws sodarace runs")
        if niche is not None and best:
            raise RenderError("give either --best or --niche, not both")
        learned = is_learning_config(config)
        if niche is None and learned and terrain is not None:
            chosen = store.best_with_condition(terrain)
            what = f"best walker written for {terrain}"
            if chosen is None:
                conditions = ", ".join(config["learn"].get("conditions") or [])
                raise RenderError(f"{run_dir} has no valid walker written for {terrain} (its terrains: {conditions})")
        elif niche is None:
            chosen = store.best()
            what = "best walker"
            if chosen is None:
                raise RenderError(f"{run_dir} has no valid walker yet")
        else:
            index = _niche_index(niche, config)
            chosen = store.elite_in_niche(index)
            what = f"elite of niche {niche} (index {index})"
            if chosen is None:
                raise RenderError(f"niche {niche} (index {index}) of {run_dir} is empty")
        if not chosen.program:
            raise RenderError(f"candidate {chosen.id} of {run_dir} has no program")
        return chosen.program, domain, f"{what}: candidate {chosen.id}, fitness {chosen.fitness:.4g}"
    finally:
        store.close()


def _terrain_and_physics(domain_config: dict[str, Any], terrain: str | None,
                         duration: float | None) -> tuple[Terrain, PhysicsParams]:
    name = terrain or domain_config.get("terrain", "flat")
    options = domain_config.get("terrain_options") or {} if terrain is None else {}
    physics = dict(domain_config.get("physics") or {})
    if duration is not None:
        physics["duration_s"] = duration
    try:
        return make_terrain(name, options), PhysicsParams(**physics)
    except ValueError as exc:
        raise RenderError(str(exc).splitlines()[0]) from None


def render_command(
    source: Annotated[Path, typer.Argument(help="a walker program (.py), a run directory or a seed name "
                                                "(square, radial, ...)")],
    out: Annotated[Path, typer.Option(help="output file: .gif (animation) "
                                           "or .png (strip of frames)")] = Path("walker.gif"),
    terrain: Annotated[Optional[str], typer.Option(help="terrain (default: flat, or the run's terrain); in a "
                                                         "learning run, --best picks the best written for it")] = None,
    best: Annotated[bool, typer.Option("--best", help="from a run: its fittest walker (the default)")] = False,
    niche: Annotated[Optional[str], typer.Option(help="from a run: the elite of niche i,j,k (or a flat index)")] = None,
    duration: Annotated[Optional[float], typer.Option(help="simulated seconds (default: the physics default)")] = None,
    fps: Annotated[float, typer.Option(help="frames per simulated second")] = 20.0,
    width: Annotated[int, typer.Option(help="frame width in pixels")] = 640,
    height: Annotated[int, typer.Option(help="frame height in pixels")] = 360,
    strip: Annotated[int, typer.Option(help="frames in a .png strip")] = 6,
) -> None:
    """Animate a Sodarace walker: a program file, a seed, or a run's best walker or niche elite."""
    started = time.perf_counter()
    try:
        if out.suffix.lower() not in (".gif", ".png"):
            raise RenderError(f"--out {out}: use a .gif (animation) or .png (strip) file name")
        if not (16 <= width <= 4096 and 16 <= height <= 4096):
            raise RenderError("--width and --height must be between 16 and 4096 pixels")
        if not 0 < fps <= 60:
            raise RenderError("--fps must be above 0 and at most 60")
        if source.is_dir():
            program, domain_config, picked = _from_run(source, best, niche, terrain)
        else:
            if best or niche is not None:
                raise RenderError("--best and --niche apply to a run directory, not a program file")
            program, domain_config, picked = _read_program(source), {}, str(source)
        terrain_obj, physics = _terrain_and_physics(domain_config, terrain, duration)
        ran = run_in_sandbox(program, SodaraceDomain().sandbox_spec())
        if not ran.ok:
            raise RenderError(f"the program did not run: {ran.reason}")
        try:
            walker = parse_walker(ran.output)
        except InvalidWalker as exc:
            raise RenderError(f"the walker is invalid: {exc}") from None
        rec = record(walker, terrain_obj, physics, fps)
        size = (width, height)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".gif":
            count = write_gif(rec, out, size, fps)
        else:
            count = write_strip(rec, out, size, strip)
    except RenderError as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
        return
    result = rec.result
    state = f", stopped: {result.exploded}" if result.exploded else ""
    typer.echo(f"{out}: {count} frames of {picked} on {terrain_obj.name}; moved {result.displacement:+.2f} units "
               f"in {result.simulated_s:g} s{state} ({time.perf_counter() - started:.1f} s to render)")
