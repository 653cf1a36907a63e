"""What the example pipelines (bootstrap, stage2, stage3) share: each step is an elm command
run in a subprocess and timed into ``timings.jsonl``, and the figures end up in
``figures.md`` and ``figures.json`` beside it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


class Steps:
    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.timings = out / "timings.jsonl"  # every command's duration, kept across restarts

    def elm(self, *args: str) -> None:
        self._timed("elm " + " ".join(args), [sys.executable, "-m", "elmcore.cli", *args])

    def script(self, path: Path, *args: str) -> None:
        """Run a Python script (a benchmark, another example), timed like the elm commands."""
        self._timed(f"python {path.name} " + " ".join(args), [sys.executable, str(path), *args])

    def train(self, model: Path, *options: str) -> None:
        """`elm train` into ``model`` unless it is finished; resumed when a checkpoint is there."""
        if (model / "training.json").exists():
            return
        if (model / "checkpoint").exists():
            self.elm("train", "--resume", str(model), "--quiet")
        else:
            self.elm("train", *options, "--out", str(model), "--quiet")

    def _timed(self, label: str, argv: list[str]) -> None:
        print("$ " + label, flush=True)
        started = time.monotonic()
        subprocess.run(argv, check=True)
        seconds = time.monotonic() - started
        print(f"  ({seconds:.0f} s)", flush=True)
        with open(self.timings, "a") as fh:
            fh.write(json.dumps({"command": label, "seconds": round(seconds, 1)}) + "\n")

    def write_figures(self, table: str, figures: dict) -> None:
        """Print the table; write it with the total time of the commands to figures.md, and
        the figures to figures.json."""
        print(table)
        timings = [json.loads(line) for line in self.timings.read_text().splitlines()] if self.timings.exists() else []
        seconds = sum(t["seconds"] for t in timings)
        (self.out / "figures.json").write_text(json.dumps({**figures, "command_seconds": round(seconds)},
                                                          indent=2) + "\n")
        (self.out / "figures.md").write_text(table + f"\n\n{seconds / 60:.0f} minutes of elm commands in all "
                                                     f"({len(timings)} commands, {self.timings.name}).\n")
