"""``elm dataset diffs`` (run stores -> a diff-model dataset), ``elm dataset programs`` (run
stores -> the Stage-2 dataset of elite programs) and ``elm train`` (a dataset -> a causal LM
directory)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from elm_train.dataset_dir import DatasetError, check_new_dir, write_dataset
from elm_train.records import FILTER_HELP, FILTERS, ExportError, change_of, diff_records, split

dataset_app = typer.Typer(help="Export run stores as training datasets (Hugging Face datasets on disk + JSONL).",
                          no_args_is_help=True, add_completion=False)


def _fail(message: str) -> None:
    typer.echo(f"elm: error: {message}", err=True)
    raise typer.Exit(2)


@dataset_app.command("diffs")
def dataset_diffs(
    runs: Annotated[list[Path], typer.Argument(help="run directories made by `elm run`")],
    out: Annotated[Path, typer.Option(help="dataset directory to create")],
    filter_: Annotated[str, typer.Option("--filter", help="which children: " + "; ".join(
        f"{k}: {v}" for k, v in FILTER_HELP.items()))] = "entered",
    holdout: Annotated[float, typer.Option(help="fraction of parents held out for evaluation")] = 0.05,
    context: Annotated[int, typer.Option(help="context lines around each change in the diffs")] = 3,
    max_repeats: Annotated[Optional[int], typer.Option(
        help="keep one change (the same removed and added lines, in any parent) at most this many times "
             "(default: no cap)")] = None,
    messages: Annotated[str, typer.Option(
        help="commit messages: stored (the child's own) or moves (where the child moved from its parent, in the "
             "domain's words: 'Make the walker taller and lighter.')")] = "stored",
) -> None:
    """Edits that worked, as (file name, parent program, commit message, diff) records in the
    diff model's training format (<NME> <BEF> <MSG> <DFF>)."""
    if filter_ not in FILTERS:
        _fail(f"--filter {filter_!r}: use one of {', '.join(FILTERS)}")
    if not 0 <= holdout < 1:
        _fail(f"--holdout {holdout}: must be at least 0 and below 1")
    if not 0 <= context <= 20:
        _fail(f"--context {context}: must be between 0 and 20")
    if max_repeats is not None and max_repeats < 1:
        _fail(f"--max-repeats {max_repeats}: must be at least 1 (leave it out for no cap)")
    try:
        check_new_dir(out)
        records, counts = diff_records(runs, filter_, context, max_repeats, messages)
        if not records:
            matched = sum(c["matched"] for c in counts.values())
            why = (f"no child passes it ({FILTER_HELP[filter_]})" if not matched else
                   f"{matched} children pass it, none with a change")
            _fail(f"no records match --filter {filter_} in {', '.join(map(str, runs))}: {why}; try --filter valid "
                  f"or runnable, or runs with more evaluations. Nothing was written")
        train, test = split(records, holdout)
        write_dataset(out, "diffs", {"train": train, "test": test},
                      {"runs": [str(r) for r in runs], "filter": filter_, "holdout": holdout, "context": context,
                       "max_repeats": max_repeats, "messages": messages, "per_run": counts})
    except (ExportError, DatasetError) as exc:
        _fail(str(exc))
    duplicates = sum(c["duplicates"] for c in counts.values())
    repeats = sum(c["repeats"] for c in counts.values())
    parents = len({r.parent for r in records})
    changes = len({change_of(r.diff) for r in records})
    typer.echo(f"{out}: {len(train)} train and {len(test)} held-out records from {len(runs)} run(s), "
               f"{parents} distinct parents, {changes} distinct changes, {duplicates} duplicates dropped"
               + (f", {repeats} over --max-repeats {max_repeats} dropped" if max_repeats is not None else "")
               + f" (filter {filter_})")


@dataset_app.command("programs")
def dataset_programs(
    runs: Annotated[list[Path], typer.Argument(help="run directories made by `elm run` (one domain, one QD config)")],
    out: Annotated[Path, typer.Option(help="dataset directory to create")],
    threshold: Annotated[float, typer.Option(help="keep a program whose fitness is at least this fraction of the "
                                                  "best in its niche across the runs (the paper: 0.5 and 0.8)")] = 0.5,
    holdout: Annotated[float, typer.Option(help="fraction of programs held out for evaluation")] = 0.05,
    exclude_seed: Annotated[Optional[list[str]], typer.Option(
        help="leave out the runs started from this seed program (repeatable or comma-separated), e.g. radial")
    ] = None,
) -> None:
    """Every program that ever entered a map of the runs, kept when it is within the
    threshold of its niche's best: the Stage-2 dataset a model learns to write programs from."""
    from elm_train.programs import program_records, split_programs

    if not 0 <= holdout < 1:
        _fail(f"--holdout {holdout}: must be at least 0 and below 1")
    excluded = [s for value in exclude_seed or [] for s in value.split(",") if s.strip()]
    try:
        check_new_dir(out)
        records, infos, shared = program_records(runs, threshold, excluded)
        if not records:
            used = [i for i in infos if not i.excluded]
            why = ("every run was excluded by --exclude-seed" if not used else
                   f"the runs hold {sum(i.entered for i in used)} programs that entered a map")
            _fail(f"no programs to export from {', '.join(map(str, runs))} ({why}); nothing was written")
        train, test = split_programs(records, holdout)
        write_dataset(out, "programs", {"train": train, "test": test}, {
            "runs": [str(r) for r in runs], "threshold": threshold, "holdout": holdout,
            "exclude_seed": excluded, "domain": shared["domain"], "qd": shared["qd"],
            "per_run": {i.path: {"seed": i.seed, "entered": i.entered, "kept": i.kept, "excluded": i.excluded}
                        for i in infos},
            "niches": len({r.niche for r in records})})
    except (ExportError, DatasetError) as exc:
        _fail(str(exc))
    left_out = [i.path for i in infos if i.excluded]
    typer.echo(f"{out}: {len(train)} train and {len(test)} held-out programs from {len(infos) - len(left_out)} "
               f"run(s) ({sum(i.entered for i in infos if not i.excluded)} entered a map; threshold {threshold:g} "
               f"of the niche's best, duplicates dropped), {len({r.niche for r in records})} niches"
               + (f"; {len(left_out)} run(s) excluded by seed" if left_out else ""))


def _counted(progress_label: str):
    """A progress callback printing a line every few seconds on stderr."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 10 or done == total:
            last[0] = time.monotonic()
            typer.echo(f"{progress_label}: {done:,}/{total:,}", err=True)
    return report


@dataset_app.command("code")
def dataset_code(
    out: Annotated[Path, typer.Option(help="dataset directory to create")],
    from_: Annotated[str, typer.Option("--from", help="comma-separated: stdlib, site-packages, or paths of "
                                                      "directories or .py files")] = "stdlib,site-packages",
    include_unknown: Annotated[bool, typer.Option(help="also use code whose licence cannot be found (only if you "
                                                       "know you may)")] = False,
    max_file_kb: Annotated[int, typer.Option(help="leave out files larger than this (KB)")] = 100,
    max_record_chars: Annotated[int, typer.Option(help="a file longer than this becomes one record per top-level "
                                                       "definition")] = 6000,
    near: Annotated[float, typer.Option(help="files whose sets of lines overlap at least this much (Jaccard) "
                                             "are near duplicates")] = 0.8,
    holdout: Annotated[float, typer.Option(help="fraction of files held out (by content hash)")] = 0.01,
) -> None:
    """A corpus of Python source from this machine (the standard library, installed packages
    whose licence is permissive, or PATHs): one record per file or top-level definition,
    duplicates and near duplicates dropped, a manifest of every package and its licence."""
    from elm_train.corpus import CorpusError, build_corpus

    sources = [s.strip() for s in from_.split(",") if s.strip()]
    if not sources:
        _fail("--from is empty; pass stdlib, site-packages or paths")
    if not 0 <= holdout < 1:
        _fail(f"--holdout {holdout}: must be at least 0 and below 1")
    if not 0 < near <= 1:
        _fail(f"--near {near}: must be above 0 and at most 1")
    try:
        check_new_dir(out)
        train, test, manifest = build_corpus(sources, include_unknown, max_file_kb * 1024, max_record_chars, near,
                                             holdout, _counted("files"))
        _check_space(out, sum(len(r["text"]) for r in train + test) * 4)
        write_dataset(out, "code", {"train": train, "test": test}, manifest)
    except (CorpusError, DatasetError) as exc:
        _fail(str(exc))
    counts = manifest["counts"]
    used = sum(1 for p in manifest["packages"] if p["included"] and p["kept_files"])
    typer.echo(f"{out}: {len(train):,} train and {len(test):,} held-out records ({counts['chars'] / 1e6:,.1f}M "
               f"characters) from {counts['kept']:,} of {counts['files']:,} files in {used} packages; left out: "
               f"{counts['exact_duplicates'] + counts['near_duplicates']:,} duplicates, {counts['too_large']} too "
               f"large, {counts['not_utf8']} not UTF-8, {counts['not_parsing']} not parsing, "
               f"{len(manifest['left_out_packages'])} packages by licence (see elm_dataset.json)")


def _check_space(out: Path, needed: int) -> None:
    import shutil as _shutil

    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    free = _shutil.disk_usage(parent).free
    if free < needed:
        raise DatasetError(f"--out {out}: {free / 1e6:,.0f} MB free on its disk, about {needed / 1e6:,.0f} MB "
                           "needed; free some space or choose another directory (nothing was written)")


@dataset_app.command("commits")
def dataset_commits(
    from_: Annotated[Path, typer.Option("--from", help="a code corpus made by `elm dataset code`")],
    out: Annotated[Path, typer.Option(help="dataset directory to create")],
    mix: Annotated[str, typer.Option(help="share of each kind of commit: bugfix, complete (missing lines), change "
                                          "(the reverse of a bug)")] = "bugfix=0.5,complete=0.2,change=0.3",
    context: Annotated[int, typer.Option(help="context lines around each change in the diffs")] = 3,
    per_function: Annotated[int, typer.Option(help="commits made from each function")] = 1,
    max_commits: Annotated[Optional[int], typer.Option(help="stop after this many training commits")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Synthetic commits (<NME> <BEF> <MSG> <DFF>) from the functions of a code corpus:
    bugs put in and fixed, missing lines written back, small changes; every diff is checked
    to apply exactly and give the other side back."""
    from elm_train.commits import DEFAULT_MIX, KINDS, make_commits
    from elm_train.corpus import CORPUS_VERSION
    from elm_train.dataset_dir import load_split, read_manifest

    try:
        shares = {k: 0.0 for k in DEFAULT_MIX}
        for part in mix.split(","):
            key, _, value = part.partition("=")
            if key.strip() not in KINDS:
                raise ValueError(f"unknown kind {key.strip()!r} (use {', '.join(KINDS)})")
            shares[key.strip()] = float(value)
        if any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
            raise ValueError("shares must be non-negative with a positive sum")
    except ValueError as exc:
        _fail(f"--mix {mix!r}: {exc}; e.g. bugfix=0.5,complete=0.2,change=0.3")
    if not 0 <= context <= 20:
        _fail(f"--context {context}: must be between 0 and 20")
    if per_function < 1:
        _fail(f"--per-function {per_function}: must be at least 1")
    try:
        check_new_dir(out)
        manifest = read_manifest(from_)
        if manifest.get("kind") != "code":
            raise DatasetError(f"--from {from_} is a {manifest.get('kind')!r} dataset, not a code corpus; make one "
                               "with `elm dataset code --out DIR`")
        if manifest.get("corpus_version") != CORPUS_VERSION:
            raise DatasetError(f"--from {from_} was made by another version of `elm dataset code` (corpus version "
                               f"{manifest.get('corpus_version')}, this one reads {CORPUS_VERSION}); make it again")
        train_rows, test_rows = load_split(from_, "train"), load_split(from_, "test")
        train, counts = make_commits(train_rows, shares, seed, context, per_function, max_commits,
                                     progress=_counted("corpus records"))
        test, test_counts = make_commits(test_rows, shares, seed + 1, context, per_function,
                                         None if max_commits is None else max(1, max_commits // 50))
        if not train:
            raise DatasetError(f"no commit could be made from {from_} ({counts['functions_tried']} functions of 3-40 "
                               "lines tried); use a corpus with more functions")
        _check_space(out, sum(len(r["prompt"]) + len(r["completion"]) for r in train + test) * 4)
        write_dataset(out, "commits", {"train": train, "test": test}, {
            "from": str(from_), "corpus": {"sources": manifest.get("sources"), "rows": manifest.get("rows")},
            "mix": shares, "context": context, "per_function": per_function, "max_commits": max_commits,
            "seed": seed, "counts": dict(sorted(counts.items())), "test_counts": dict(sorted(test_counts.items()))})
    except DatasetError as exc:
        _fail(str(exc))
    kinds = ", ".join(f"{k} {counts.get('kind:' + k, 0):,}" for k in KINDS)
    dropped = sum(v for k, v in counts.items() if k.startswith("unverified:"))
    typer.echo(f"{out}: {len(train):,} train and {len(test):,} held-out commits ({kinds}) from "
               f"{counts['functions_tried']:,} functions; {dropped} whose diff did not give the function back "
               f"were dropped")


class _TrainPrinter:
    """A progress bar on a terminal (loss, tokens/s); a log line every few seconds otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.bar = None
        self.last = 0.0

    def __call__(self, info) -> None:
        if self.quiet or info.event == "done":  # the command prints the summary
            return
        line = f"loss {info.loss:.4f} | {info.tokens_per_s:,.0f} tok/s | lr {info.lr:.2e}"
        if info.event == "eval" and info.eval_loss is not None:
            self._log(f"step {info.step}/{info.total}: held-out loss {info.eval_loss:.4f} (train {info.loss:.4f})")
        elif info.event == "checkpoint":
            self._log(f"step {info.step}/{info.total}: checkpoint written")
        if self.tty:
            if self.bar is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
                    TimeRemainingColumn
                self.bar = Progress(TextColumn("steps"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                    TimeRemainingColumn(), TextColumn("{task.fields[line]}"), transient=False)
                self.task = self.bar.add_task("train", total=info.total, line="")
                self.bar.start()
            self.bar.update(self.task, completed=info.step, line=line)
        elif time.monotonic() - self.last > 10 or info.step == info.total:
            self.last = time.monotonic()
            typer.echo(f"[{info.step}/{info.total}] {line}", err=True)

    def _log(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text)
        else:
            typer.echo(text, err=True)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def train_command(
    data: Annotated[Optional[list[str]], typer.Option(help="dataset directory made by `elm dataset` (repeat to train "
                                                          "on several; DIR:ROWS takes a seeded sample of ROWS rows)")
                    ] = None,
    out: Annotated[Optional[Path], typer.Option(help="model directory to create")] = None,
    init: Annotated[Optional[str], typer.Option(help="model to fine-tune: directory, shipped name or hub id "
                                                     "(default: train from scratch)")] = None,
    size: Annotated[str, typer.Option(help="named size from scratch: 0.1m, 1m, 3m, 10m, 85m, 300m")] = "1m",
    steps: Annotated[Optional[int], typer.Option(help="optimiser steps")] = None,
    epochs: Annotated[Optional[float], typer.Option(help="passes over the data (default 3)")] = None,
    lr: Annotated[Optional[float], typer.Option(help="peak learning rate (default 1e-3, 2e-4 with --init)")] = None,
    batch_tokens: Annotated[int, typer.Option(help="tokens per batch, padding included")] = 8192,
    context: Annotated[int, typer.Option(help="longest example in tokens")] = 1024,
    vocab_size: Annotated[int, typer.Option(help="tokenizer size when training from scratch")] = 4096,
    pieces: Annotated[str, typer.Option(help="tokenizer from scratch: BPE merges within a line's text (lines) "
                                             "or within words (words)")] = "lines",
    loss: Annotated[str, typer.Option(help="tokens the loss covers: completion (the diff and end-of-text) or "
                                           "all (prompt too)")] = "completion",
    eval_every: Annotated[Optional[int], typer.Option(help="steps between held-out evaluations")] = None,
    save_every: Annotated[Optional[int], typer.Option(help="steps between checkpoints")] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    resume: Annotated[Optional[Path], typer.Option(help="continue the killed training in this model directory")
                      ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
) -> None:
    """Train a causal LM on a dataset: from scratch (tokenizer + GPT-2 of a named size) or
    fine-tune a model; the loss covers only the completion (for diffs, the diff)."""
    from elm_train.trainer import TrainArgs, TrainError, Trainer

    try:
        if resume is not None:
            if data is not None or out is not None or init is not None:
                _fail("--resume continues a training with the options it started with; drop --data, --out "
                      "and --init")
            trainer = Trainer.resume(resume)
        else:
            if not data or out is None:
                _fail("give --data DIR and --out MODEL_DIR (or --resume MODEL_DIR)")
            args = TrainArgs(data=list(data), out=str(out), init=init, size=size, steps=steps, epochs=epochs, lr=lr,
                             batch_tokens=batch_tokens, context=context, vocab_size=vocab_size, pieces=pieces,
                             loss=loss,
                             eval_every=eval_every, save_every=save_every, seed=seed, device=device)
            trainer = Trainer.start(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "options"
        _fail(f"{where}: {first['msg'].removeprefix('Value error, ')}")
    except (TrainError, DatasetError) as exc:
        _fail(str(exc))
    if not quiet:
        typer.echo(f"training {trainer.parameters:,} parameters on {len(trainer.train_examples):,} examples "
                   f"({trainer.too_long} longer than the context left out), {trainer.total_steps} steps from step "
                   f"{trainer.step}, {trainer.device}", err=True)
    printer = _TrainPrinter(quiet)
    try:
        recipe = trainer.run(printer)
    except KeyboardInterrupt:
        printer.stop()
        _fail(f"interrupted; continue from the last checkpoint with `elm train --resume {trainer.out}`")
    except TrainError as exc:
        printer.stop()
        _fail(str(exc))
    finally:
        printer.stop()
    held = recipe["final_eval_loss"]
    typer.echo(f"model written to {trainer.out}: {recipe['steps']} steps, train loss {recipe['final_train_loss']}, "
               f"held-out loss {held if held is not None else '-'}, {recipe['tokens_per_s']:,.0f} tokens/s; "
               f"use it with --model {trainer.out}")
