"""How often a diff model writes a diff that applies, on programs it never saw.

    python benchmarks/diffs_apply.py MODEL [MODEL ...] [--commits DIR] [--n 8] [--prompts 100]
        [--decoding unguided,guided]

For each model, with the diff mutator's own prompt, stops and diff reader, at temperature
0.8 and fixed seeds:
- held-out commits (the test split of an `elm dataset commits` directory: functions of
  files the model was not trained on, a bug put in): % of diffs that apply exactly
  (strictly: every hunk's old lines as they are in the program), % that give a program
  that parses, and % that restore the original function (the fix);
- the 4-Parity seeds with 1-5 bugs ("Fixed bugs") and the Quadratic ones: % applying
  exactly, and % whose child is the correct program (compared after normalising with
  ``ast``: a child is generated code, so it is never run here);
- the Sodarace seeds (Square, Radial, Wheel, Galloper, Runner, CPPN) with the domain's
  messages: % applying exactly and % that parse.
Each model samples once per decoding: ``unguided`` (the model writes every line) and ``guided``
(the diff mutator's default: kept and removed lines are copied from the program, so the
question there is what the model adds, and how many distinct children it gives).
Prints one table row per model, decoding and source; ``--json FILE`` writes the figures.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import numpy as np

from elm_llm.backend import SamplingParams
from elm_llm.diffs import DiffApplyError, apply_hunks, parse_hunks
from elm_llm.hf_backend import TransformersBackend
from elm_llm.prompts import DIFF_STOPS, diff_prompt
from elm_seeds import __file__ as seeds_init

SEEDS = Path(seeds_init).resolve().parent
SODARACE_MESSAGES = ("Changed make_walker function.", "Changed parameters in make_walker function.",
                     "Small change to make_walker function.")


def normal(program: str) -> str | None:
    try:
        return ast.unparse(ast.parse(program))
    except (SyntaxError, ValueError):
        return None


def cases(commits: Path | None, prompts: int) -> list[dict]:
    """(source, file name, program, message, the program a fix should give or None)."""
    found: list[dict] = []
    if commits is not None:
        rows = [json.loads(line) for line in (commits / "test.jsonl").read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["kind"] == "bugfix"]
        pick = np.random.default_rng(0).permutation(len(rows))[:prompts]
        for i in pick.tolist():
            r = rows[i]
            fixed = apply_hunks(r["parent"], parse_hunks(r["completion"]), strict=True)
            found.append(dict(source="held-out commits (bug fixes)", file=r["file_name"], program=r["parent"],
                              message=r["message"], target=fixed))
    for task in ("parity", "quadratic"):
        correct = (SEEDS / task / f"{task}_correct.py").read_text()
        for path in sorted((SEEDS / task).glob(f"{task}_bugs_*.py")):
            bugs = path.stem.rsplit("_", 1)[1]
            found.append(dict(source=f"{task} {bugs} bug{'s' if bugs != '1' else ''}", file=f"{task}.py",
                              program=path.read_text(), message="Fixed bugs", target=correct))
    for path in sorted((SEEDS / "sodarace").glob("*.py")):
        for message in SODARACE_MESSAGES:
            found.append(dict(source="sodarace seeds", file="walker.py", program=path.read_text(), message=message,
                              target=None))
    return found


def measure(backend: TransformersBackend, found: list[dict], n: int, guided: bool) -> tuple[dict[str, dict], float]:
    params = SamplingParams(temperature=0.8, top_p=0.95, max_new_tokens=256, n=n, stop=DIFF_STOPS,
                            copy_from=tuple(c["program"] for c in found) if guided else None)
    prompts = [diff_prompt(c["file"], c["program"], c["message"]) for c in found]
    started = time.monotonic()
    completions = backend.generate(prompts, params, seed=1234)
    seconds = time.monotonic() - started
    rows: dict[str, dict] = {}
    for completion in completions:
        case = found[completion.prompt_index]
        row = rows.setdefault(case["source"], dict(diffs=0, applied=0, parses=0, fixed=0, targets=0, children=set()))
        row["diffs"] += 1
        row["targets"] += case["target"] is not None
        try:
            hunks = parse_hunks(completion.text)
            child = apply_hunks(case["program"], hunks, strict=True) if hunks else None
        except DiffApplyError:
            child = None
        if child is None or child == case["program"]:
            continue
        row["applied"] += 1
        row["children"].add(child)
        shape = normal(child)
        row["parses"] += shape is not None
        if case["target"] is not None and shape is not None and shape == normal(case["target"]):
            row["fixed"] += 1
    for row in rows.values():
        row["distinct"] = len(row.pop("children"))
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--commits", type=Path, default=None, help="an `elm dataset commits` directory")
    parser.add_argument("--n", type=int, default=8, help="diffs per prompt")
    parser.add_argument("--prompts", type=int, default=100, help="held-out commits to try")
    parser.add_argument("--batch", type=int, default=32, help="sequences per forward pass")
    parser.add_argument("--decoding", default="unguided,guided", help="unguided, guided, or both (comma-separated)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    modes = [m.strip() for m in args.decoding.split(",") if m.strip()]
    if not modes or set(modes) - {"unguided", "guided"}:
        parser.error(f"--decoding {args.decoding!r}: give unguided, guided or both, e.g. unguided,guided")
    found = cases(args.commits, args.prompts)
    figures: dict[str, dict] = {}
    print("| model | decoding | programs | diffs | apply exactly % | parse % | fixed % | distinct children |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models:
        backend = TransformersBackend(model, device="cpu", forward_batch=args.batch)
        for mode in modes:
            rows, seconds = measure(backend, found, args.n, mode == "guided")
            figures.setdefault(model, {})[mode] = {"rows": rows, "seconds": round(seconds, 1)}
            for source, r in rows.items():
                fixed = f"{100 * r['fixed'] / r['diffs']:.1f}" if r["targets"] else "-"
                print(f"| {model} | {mode} | {source} | {r['diffs']} | {100 * r['applied'] / r['diffs']:.1f} | "
                      f"{100 * r['parses'] / r['diffs']:.1f} | {fixed} | {r['distinct']} |", flush=True)
            print(f"  ({model}, {mode}: {sum(r['diffs'] for r in rows.values())} diffs in {seconds:.0f} s)",
                  file=sys.stderr)
        backend.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
