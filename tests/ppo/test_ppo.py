"""The `ppo` conditional learner: GAE, the clipped losses and the KL reward on hand-computed
cases; TEN shapes; a few iterations on a tiny LM raise a condition-dependent reward; a
resumed learning run equals an uninterrupted one; the inputs it refuses."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from elmcore.config import resolve_learning
from elmcore.learning import Learning
from elmcore.plugins import PluginManager
from elmcore.store import RunStore
from elm_ppo.ppo import gae, policy_loss, token_rewards, value_loss, whiten
from elm_ppo.ten import DiscreteTEN, VisionTEN, make_ten
from elm_train.dataset_dir import write_dataset
from elm_train.programs import ProgramRecord
from elm_train.trainer import TrainArgs, Trainer
from ppo_toys import ToyPlugin


# -- hand-computed cases --------------------------------------------------------------------
def test_token_rewards_pay_the_kl_on_every_token_and_the_reward_at_the_end() -> None:
    rewards = token_rewards(np.array([-1.0, -2.0]), np.array([-1.5, -1.0]), reward=2.0, kl_coef=0.1)
    assert rewards == pytest.approx([-0.05, 0.1 + 2.0])


def test_gae_on_a_three_token_sample() -> None:
    rewards, values = np.array([0.0, 0.0, 1.0]), np.array([0.5, 0.5, 0.5])
    advantages, returns = gae(rewards, values, gamma=1.0, lam=1.0)
    assert advantages == pytest.approx([0.5, 0.5, 0.5])  # lambda 1: the return minus the value
    assert returns == pytest.approx([1.0, 1.0, 1.0])
    advantages, _ = gae(rewards, values, gamma=1.0, lam=0.5)
    assert advantages == pytest.approx([0.125, 0.25, 0.5])
    advantages, _ = gae(rewards, values, gamma=0.9, lam=1.0)
    assert advantages == pytest.approx([0.81 - 0.5, 0.9 - 0.5, 0.5])


def test_whitening_per_condition_and_over_the_batch() -> None:
    samples = [np.array([1.0, 3.0]), np.array([2.0]), np.array([10.0, 30.0])]
    # per condition: samples 0 and 1 share condition 0 (tokens 1, 3, 2: mean 2, std sqrt(2/3))
    by_condition = whiten(samples, np.array([0, 0, 1]))
    s0 = math.sqrt(2.0 / 3.0)
    assert np.allclose(by_condition[0], [-1.0 / s0, 1.0 / s0], atol=1e-6)
    assert np.allclose(by_condition[1], [0.0], atol=1e-6)
    assert np.allclose(by_condition[2], [-1.0, 1.0], atol=1e-6)  # 10, 30: mean 20, std 10
    # over the batch: tokens 1, 3, 2, 10, 30 (mean 9.2)
    flat = np.array([1.0, 3.0, 2.0, 10.0, 30.0])
    whole = np.concatenate(whiten(samples, np.zeros(3)))
    assert np.allclose(whole, (flat - flat.mean()) / flat.std(), atol=1e-6)


def test_policy_loss_clips_the_ratio_on_the_side_that_would_gain() -> None:
    logprobs = torch.tensor([[math.log(1.5), math.log(1.5), math.log(1.1)]])
    old = torch.zeros((1, 3))
    advantages = torch.tensor([[1.0, -1.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])  # the third token is padding
    loss, clipfrac, approx_kl = policy_loss(logprobs, old, advantages, mask, clip=0.2)
    # +1: min(1.5, 1.2) = 1.2 gained; -1: the unclipped 1.5 is the worse, so it counts
    assert float(loss) == pytest.approx((-1.2 + 1.5) / 2)
    assert float(clipfrac) == pytest.approx(1.0)
    assert float(approx_kl) == pytest.approx(0.5 - math.log(1.5))


def test_value_loss_takes_the_worse_of_clipped_and_unclipped() -> None:
    loss = value_loss(torch.tensor([[2.0, 1.2]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 1.0]]),
                      torch.tensor([[1.0, 1.0]]), clip=0.5)
    # first: (2-0)^2 = 4 against clipped (1.5-0)^2; second: 0.04 against clipped (1.2-1)^2 = 0.04
    assert float(loss) == pytest.approx(0.5 * (4.0 + 0.04) / 2)


def test_ten_shapes_and_zero_start() -> None:
    discrete = DiscreteTEN(3, 16)
    out = discrete(torch.tensor([0, 2]))
    assert out.shape == (2, 16) and float(out.abs().sum()) == 0.0  # the policy starts as the Stage-2 model
    images = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    vision = VisionTEN(images, 24)
    out = vision(torch.tensor([1, 1, 2]))
    assert out.shape == (3, 24) and float(out.abs().sum()) == 0.0
    out.sum().backward()
    assert vision.project.weight.grad is not None and float(vision.project.weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="unknown TEN 'sound'"):
        make_ten("sound", ["a"], 8)


def test_sodarace_draws_its_terrains() -> None:
    from elm_sodarace.domain import SodaraceDomain

    domain = SodaraceDomain()
    left, right, flat = (domain.draw_condition(t, 48) for t in ("left-wall", "right-wall", "flat"))
    assert left.shape == (48, 48) and 0.0 <= left.min() and left.max() == 1.0
    assert np.allclose(left[:, ::-1], right, atol=0.05) or left[:, :24].sum() > left[:, 24:].sum()
    assert right[:, 24:].sum() > right[:, :24].sum()  # the wall is on the right
    assert flat[:40].sum() == 0.0 and flat[-1].sum() == 48.0  # only the ground, at the bottom
    assert set(domain.conditions()) >= {"flat", "left-wall", "right-wall", "bumpy", "tunnel"}


# -- learning on a toy domain ------------------------------------------------------------------
@pytest.fixture(scope="module")
def pm() -> PluginManager:
    return PluginManager(plugins=[("toys", ToyPlugin())]).load()


@pytest.fixture(scope="module")
def digit_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny LM that writes `def value(): return D` for a uniformly random digit D."""
    root = tmp_path_factory.mktemp("digits")
    programs = [f"def value():\n    return {d}\n" for d in range(10)] * 4
    rows = [asdict(ProgramRecord(program=p, prompt="", completion=p, run="toy", candidate_id=i, niche=0,
                                 fitness=1.0, descriptors=[0.0], seed="toy", root_id=0))
            for i, p in enumerate(programs)]
    write_dataset(root / "data", "programs", {"train": rows, "test": rows[:4]},
                  {"runs": ["toy"], "domain": {"name": "digit"}, "qd": {"name": "map-elites"}})
    Trainer.start(TrainArgs(data=str(root / "data"), out=str(root / "model"), size="0.1m", context=64,
                            batch_tokens=2048, vocab_size=300, steps=80, lr=5e-3, eval_every=80)).run()
    return root / "model"


def learn_config(pm: PluginManager, model: Path, **learner) -> dict:
    return resolve_learning({
        "learn": {"conditions": ["low", "high"], "iterations": 6, "samples": 48, "seed": 3},
        "domain": {"name": learner.pop("domain", "digit")},
        "learner": {"name": "ppo", "model": str(model), "lr": 5e-4, "ten_lr": 1e-2, "kl_coef": 0.0,
                    "reward_scale": 9.0, "temperature": 1.0, "max_new_tokens": 16, **learner}}, pm).as_dict()


def digits(run_dir: Path, iteration: int) -> dict[str, float]:
    db = sqlite3.connect(run_dir / "store.sqlite")
    rows = db.execute("SELECT message, descriptors FROM candidates WHERE batch = ? AND outcome = 'valid'",
                      (iteration,)).fetchall()
    out: dict[str, list[float]] = {}
    for condition, descriptors in rows:
        out.setdefault(condition, []).append(json.loads(descriptors)[0])
    return {c: float(np.mean(v)) for c, v in out.items()}


def store_rows(run_dir: Path) -> list[tuple]:
    """Every sample, its extras without the timings (which differ from run to run)."""
    db = sqlite3.connect(run_dir / "store.sqlite")
    rows = db.execute("SELECT id, batch, message, program, outcome, fitness, extras FROM candidates ORDER BY id")
    return [(*row[:6], {k: v for k, v in json.loads(row[6]).items() if not k.endswith("_seconds")}) for row in rows]


@pytest.mark.parametrize("ten", ["discrete", pytest.param("vision", marks=pytest.mark.slow)])
def test_a_few_iterations_write_higher_digits_for_high_and_lower_for_low(pm, digit_model, tmp_path, ten) -> None:
    domain = "pictured-digit" if ten == "vision" else "digit"
    learning = Learning.start(tmp_path / "run", learn_config(pm, digit_model, ten=ten, domain=domain), pm)
    learning.run()
    learning.close()
    first, last = digits(tmp_path / "run", 0), digits(tmp_path / "run", 5)
    # at the start both conditions get the same uniform digits; after learning they part ways
    assert abs(first["high"] - first["low"]) < 2.0
    assert last["high"] - last["low"] > 2.0, (first, last)
    rows = store_rows(tmp_path / "run")
    assert len(rows) == 6 * 48
    extras = rows[-1][6]
    assert extras["condition"] == rows[-1][2] and "kl" in extras and "reward" in extras


def short_config(pm: PluginManager, model: Path, iterations: int) -> dict:
    config = learn_config(pm, model)
    config["learn"].update(iterations=iterations, samples=16)
    return config


def test_resume_equals_an_uninterrupted_run(pm, digit_model, tmp_path) -> None:
    whole = Learning.start(tmp_path / "whole", short_config(pm, digit_model, 3), pm)
    whole.run()
    whole.close()
    part = Learning.start(tmp_path / "part", short_config(pm, digit_model, 2), pm)
    part.run()
    part.close()
    resumed = Learning.resume(tmp_path / "part", pm, iterations=3)
    resumed.run()
    resumed.close()
    assert store_rows(tmp_path / "part") == store_rows(tmp_path / "whole")


def test_a_kill_between_commit_and_swap_resumes_cleanly(pm, digit_model, tmp_path) -> None:
    run = Learning.start(tmp_path / "r", short_config(pm, digit_model, 1), pm)
    run.run()
    run.close()
    # as if killed after iteration 0 was committed, before its state was swapped in
    (tmp_path / "r" / "learner").rename(tmp_path / "r" / "learner.next")
    resumed = Learning.resume(tmp_path / "r", pm, iterations=2)
    assert (tmp_path / "r" / "learner").is_dir() and not (tmp_path / "r" / "learner.next").exists()
    resumed.run()
    resumed.close()
    assert {r[1] for r in store_rows(tmp_path / "r")} == {0, 1}


@pytest.mark.parametrize("change, expected", [
    ({"conditions": ["low", "sideways"]}, "learn.conditions: 'sideways' is not a condition of domain 'digit'"),
    ({"model": "/nonexistent/model"}, "model path '/nonexistent/model' is not a directory"),
    ({"ten": "vision"}, "ten 'vision': domain 'digit' cannot draw its conditions; use ten discrete"),
])
def test_bad_input_is_one_line(pm, digit_model, tmp_path, change, expected) -> None:
    from elmcore.config import ConfigError

    config = learn_config(pm, digit_model)
    if "conditions" in change:
        config["learn"]["conditions"] = change["conditions"]
    else:
        config["learner"].update(change)
    with pytest.raises(ConfigError) as info:
        Learning.start(tmp_path / "r", config, pm)
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "r").exists()  # nothing was written


# -- the command line -----------------------------------------------------------------------------
def elm_command(*args: str, cwd: Path):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "elmcore.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize("args, expected", [
    (["--model", "m"], "give the conditions to learn for: --conditions NAME,NAME (domain sodarace: --terrains "),
    (["--model", "m", "--terrains", "moon"], "no installed domain has the conditions moon; pass --domain"),
    (["--model", "m", "--terrains", "moon", "--domain", "sodarace"],
     "learn.conditions: 'moon' is not a condition of domain 'sodarace'; it has bumpy, flat, left-wall"),
    (["--model", "m", "--terrains", "left-wall", "--ten", "sound"], "config key 'learner.ten'"),
    (["--model", "/nowhere", "--terrains", "left-wall"], "model path '/nowhere' is not a directory"),
])
def test_cli_errors_are_one_line(tmp_path, args, expected) -> None:
    done = elm_command("learn", *args, "--out", str(tmp_path / "r"), cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("elm: error: ") and expected in lines[0], lines[0]
    assert not (tmp_path / "r").exists()


def test_evaluate_learner_compares_sources_per_condition(pm, digit_model, tmp_path) -> None:
    from elm_ppo.evaluation import evaluate_learner, format_table

    run = Learning.start(tmp_path / "r", short_config(pm, digit_model, 1), pm)
    run.run()
    run.close()
    programs = [f"def value():\n    return {d}\n" for d in (8, 9)]
    table = evaluate_learner(tmp_path / "r", pm, 8, dataset_programs=programs, extra="digit")
    assert set(table) == {"low", "high"}
    assert list(table["high"]) == ["dataset", "stage2", "stage3-discrete"]
    assert table["high"]["dataset"]["mean"] >= 8.0 and table["low"]["dataset"]["best"] <= 1.0  # 8s and 9s
    assert 8.0 <= table["high"]["dataset"]["extra_mean"] <= 9.0  # the digits written, not the fitness
    assert 8.0 <= table["low"]["dataset"]["extra_mean"] <= 9.0
    for row in table.values():
        for cell in row.values():
            assert 0.0 <= cell["mean"] <= cell["best"] <= 9.0 and 0.0 <= cell["valid_pct"] <= 100.0
    text = format_table(table, 8, "digit")
    assert "stage3-discrete" in text and "mean digit" in text
    with pytest.raises(ValueError, match="learnt for low, high, not 'sideways'"):
        evaluate_learner(tmp_path / "r", pm, 8, conditions=["sideways"])


def test_evaluate_learner_puts_runs_side_by_side(pm, digit_model, tmp_path) -> None:
    """Two runs of one model: one column each, the Stage-2 column once; a run of another
    model is refused by name."""
    from elm_ppo.evaluation import evaluate_learner

    for name, seed in (("a", 0), ("b", 1)):
        config = short_config(pm, digit_model, 1)
        config["learn"]["seed"] = seed
        run = Learning.start(tmp_path / name, config, pm)
        run.run()
        run.close()
    table = evaluate_learner([tmp_path / "a", tmp_path / "b"], pm, 4)
    assert list(table["high"]) == ["stage2", "stage3-a", "stage3-b"]
    stored = RunStore.open(tmp_path / "b")
    config = stored.get_meta("config", kind=dict)
    config["learner"]["model"] = str(shutil.copytree(digit_model, tmp_path / "elsewhere"))
    stored.set_meta("config", config)
    stored.close()
    with pytest.raises(ValueError, match="compare runs of one Stage-2 model"):
        evaluate_learner([tmp_path / "a", tmp_path / "b"], pm, 4)


def test_status_and_best_per_condition_of_a_learning_run(pm, digit_model, tmp_path) -> None:

    run = Learning.start(tmp_path / "r", short_config(pm, digit_model, 1), pm)
    run.run()
    run.close()
    store = RunStore.open(tmp_path / "r", readonly=True)
    best = store.best_per_condition()
    store.close()
    rows = store_rows(tmp_path / "r")
    for condition in ("low", "high"):
        valid = [r[5] for r in rows if r[2] == condition and r[4] == "valid"]
        assert best[condition].fitness == max(valid)
    done = elm_command("status", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "learner ppo, conditions low, high" in done.stdout and "iterations 1 of 1; samples 16" in done.stdout
    assert f"high: best fitness {best['high'].fitness:.4g}" in done.stdout
