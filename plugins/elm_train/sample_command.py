"""``elm sample``: Stage 2's measure. A model writes programs from nothing (or programs are
drawn from a dataset, the baseline); each is evaluated in the sandbox and inserted into a
fresh map, in an ordinary run directory (``elm status``, ``elm render`` and ``elm resume``
work on it). ``--complete`` instead gives the model the first half of programs it has not
seen and reports how good its best completion is (the paper's generalisation test).

The domain and the map come from where the programs came from: the dataset's manifest, or
the ``training.json`` of a model trained by ``elm train``, so samples land in the same
niches as the runs the dataset was made from.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from elmcore import ConfigError, raw_config, resolve


def _fail(message: str) -> None:
    typer.echo(f"elm: error: {message}", err=True)
    raise typer.Exit(2)


def source_settings(model: str | None, dataset: Path | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(domain, qd) sections of the runs the programs come from, or None when the source
    does not say (a model from elsewhere)."""
    from elm_train.dataset_dir import DatasetError, read_manifest

    if dataset is not None:
        try:
            manifest = read_manifest(dataset)
        except DatasetError as exc:
            raise ValueError(str(exc)) from None
        if manifest.get("kind") != "programs":
            raise ValueError(f"--from-dataset {dataset} is a dataset of {manifest.get('kind')}, not of programs; "
                             "make one with `elm dataset programs RUN_DIR --out DIR`")
        return manifest.get("domain") or {}, manifest.get("qd") or {}
    recipe_file = Path(model or "") / "training.json"
    if model and recipe_file.is_file():
        try:
            data = json.loads(recipe_file.read_text()).get("data") or {}
        except (OSError, ValueError, AttributeError):
            return None
        if data.get("kind") == "diffs":
            raise ValueError(f"{model} was trained on diffs (a diff model for `elm run --mutator diff`); "
                             "`elm sample` needs a model trained on `elm dataset programs`")
        if isinstance(data.get("domain"), dict):
            return data["domain"], data.get("qd") or {}
    return None


def build_sample_config(pm: Any, model: str | None, dataset: Path | None, n: int, batch_size: int,
                        workers: int | None, seed: int, domain: str | None, mutator_options: dict[str, Any],
                        overrides: list[str]) -> dict[str, Any]:
    """The resolved run config of a sampling run."""
    settings = source_settings(model, dataset)
    if settings is None:
        if domain is None:
            raise ValueError(f"{model} does not say which domain its programs are for (no training.json from "
                             "`elm train`); pass --domain")
        domain_section: dict[str, Any] = {"name": domain}
        qd_section: dict[str, Any] = {}
    else:
        domain_section, qd_section = dict(settings[0]), dict(settings[1])
        if domain is not None and domain != domain_section.get("name"):
            raise ValueError(f"--domain {domain}: the programs come from runs of {domain_section.get('name')!r}; "
                             "drop --domain")
    if dataset is not None:
        mutator: dict[str, Any] = {"name": "sample-dataset", "data": str(dataset.resolve()), **mutator_options}
    else:
        where = Path(model or "")
        mutator = {"name": "sample", "model": str(where.resolve()) if where.is_dir() else model, **mutator_options}
    run: dict[str, Any] = {"evals": n, "batch_size": batch_size, "seed": seed}
    if workers is not None:
        run["workers"] = workers
    base = {"run": run, "domain": domain_section, "mutator": mutator, "qd": qd_section}
    return resolve(raw_config(overrides=overrides, base=base), pm)


def sample_command(
    model: Annotated[Optional[str], typer.Argument(
        help="model that writes programs: a directory made by `elm train` on `elm dataset programs`, or a hub id")
    ] = None,
    n: Annotated[int, typer.Option(help="programs to sample (or completions per program with --complete)")] = 1024,
    out: Annotated[Optional[Path], typer.Option(help="run directory to create")] = None,
    from_dataset: Annotated[Optional[Path], typer.Option(
        help="draw the programs from this dataset (`elm dataset programs`) instead of a model")] = None,
    split: Annotated[str, typer.Option(help="with --from-dataset: train, test or all")] = "train",
    temperature: Annotated[Optional[float], typer.Option(help="sampling temperature (default 0.8)")] = None,
    top_p: Annotated[Optional[float], typer.Option(help="nucleus sampling (default 0.95)")] = None,
    batch_size: Annotated[int, typer.Option(help="programs per batch of the run")] = 128,
    workers: Annotated[Optional[int], typer.Option(help="evaluation worker processes")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible server serving MODEL")] = None,
    domain: Annotated[Optional[str], typer.Option(help="domain, for a model that does not say")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="override: SECTION.KEY=VALUE (repeatable)")
                    ] = None,
    complete: Annotated[Optional[list[str]], typer.Option(
        help="complete the first half of programs instead: a dataset directory (its held-out split), a .py file, "
             "a directory of .py files, or seed names such as wheel,galloper,runner (repeatable)")] = None,
    tasks: Annotated[int, typer.Option(help="with --complete and a dataset: held-out programs to complete")] = 16,
    report: Annotated[Optional[Path], typer.Option(help="with --complete: also write the table as JSON here")
                      ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Sample programs from a model (or a dataset) into a fresh map: a run directory of
    its own. With --complete: complete half programs and report the best completion."""
    from elmcore import drive
    from elmcore import Engine
    from elmcore import get_plugin_manager

    if (model is None) == (from_dataset is None):
        _fail("give a MODEL or --from-dataset DIR (one of them)")
    if n < 1:
        _fail(f"--n {n}: must be at least 1")
    if from_dataset is not None and split not in ("train", "test", "all"):
        _fail(f"--split {split!r}: use train, test or all")
    options: dict[str, Any] = {}
    if from_dataset is not None:
        if any(v is not None for v in (temperature, top_p, device, base_url)) or complete:
            _fail("--temperature, --top-p, --device, --base-url and --complete apply to a MODEL, not to "
                  "--from-dataset")
        options["split"] = split
    else:
        options.update({k: v for k, v in dict(temperature=temperature, top_p=top_p, device=device,
                                              base_url=base_url).items() if v is not None})
    pm = get_plugin_manager()
    try:
        resolved = build_sample_config(pm, model, from_dataset, n, batch_size, workers, seed, domain, options,
                                       set_ or [])
    except (ValueError, ConfigError) as exc:
        _fail(str(exc))
    if complete:
        from elm_train.completion import CompletionError, print_table, run_completions

        if out is not None:
            _fail("--complete reports a table (--report FILE for JSON); it writes no run directory: drop --out")
        try:
            rows = run_completions(resolved, pm, complete, n, tasks, quiet)
        except (CompletionError, ValueError) as exc:
            _fail(str(exc))
        print_table(rows)
        if report is not None:
            report.write_text(json.dumps({"model": model, "n": n, "rows": rows}, indent=2) + "\n")
        return
    if report is not None:
        _fail("--report goes with --complete; a sampling run's figures are in its run directory (`elm status`)")
    if out is None:
        out = Path("runs") / f"sample-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    engine = Engine.start(out, resolved, pm)
    if not quiet:
        typer.echo(f"run directory: {out}", err=True)
    drive(engine, quiet)
