"""`elm train`: a tiny model trained for a few steps lowers the held-out loss, its output
loads as a model for the mutators, a killed training resumes to the same weights, and the
inputs it cannot use are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elm_train.dataset_dir import write_dataset
from elm_train.records import diff_completion, diff_hunks
from elm_train.trainer import TrainArgs, Trainer
from elm_llm.prompts import diff_prompt
from train_cli import elm, error_line

SMALL = dict(size="0.1m", context=160, batch_tokens=1280, vocab_size=300)


def toy_rows(n: int, offset: int = 0) -> list[dict]:
    """Diff records of a pattern a tiny model can learn: the constant goes up by one."""
    rows = []
    for k in range(offset, offset + n):
        parent = f"def f(x):\n    y = x * {k % 7}\n    return y + {k}\n"
        child = parent.replace(f"return y + {k}", f"return y + {k + 1}")
        hunks = diff_hunks(parent, child, "f.py", context=1)
        rows.append(dict(file_name="f.py", parent=parent, message="Add one", diff=hunks,
                         prompt=diff_prompt("f.py", parent, "Add one"), completion=diff_completion(hunks),
                         run="toy", candidate_id=k, parent_id=0, operator="gp", outcome="valid", entered=True,
                         fitness=1.0))
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "toy"
    write_dataset(out, "diffs", {"train": toy_rows(160), "test": toy_rows(24, offset=500)}, {"runs": ["toy"]})
    return out


def test_training_lowers_the_held_out_loss_and_writes_a_model(tmp_path: Path, data: Path) -> None:
    trainer = Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "m"), steps=40, eval_every=20,
                                      lr=3e-3, **SMALL))
    before = trainer.evaluate()
    recipe = trainer.run()
    assert recipe["final_eval_loss"] < 0.6 * before
    assert [step for step, _ in recipe["history"]["eval"]] == [20, 40]
    out = tmp_path / "m"
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert (out / "tokenizer.json").is_file() and not (out / "checkpoint").exists()
    saved = json.loads((out / "training.json").read_text())
    assert saved["args"]["size"] == "0.1m" and saved["data"]["rows"] == {"train": 160, "test": 24}
    assert saved["model"]["parameters"] == trainer.parameters
    generation = json.loads((out / "generation_config.json").read_text())
    longest = max(len(trainer.tokenizer(r["completion"])["input_ids"]) + 1 for r in toy_rows(160))
    assert longest <= generation["max_new_tokens"] <= 2 * longest  # twice the 99th percentile


def test_the_trained_model_loads_as_a_mutator_backend(tmp_path: Path, data: Path) -> None:
    from elm_llm.backend import SamplingParams
    from elm_llm.hf_backend import TransformersBackend

    Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "m"), steps=5, **SMALL)).run()
    backend = TransformersBackend(str(tmp_path / "m"), device="cpu")
    prompt = toy_rows(1, offset=900)[0]["prompt"]
    [completion] = backend.generate([prompt], SamplingParams(temperature=0.0, max_new_tokens=8), seed=0)
    assert completion.ok and completion.tokens > 0


def test_only_the_completion_is_trained_on(data: Path, tmp_path: Path) -> None:
    from elm_train.trainer import IGNORE, collate, encode

    trainer = Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "m"), steps=1, **SMALL))
    row = toy_rows(1)[0]
    [example], _ = encode(trainer.tokenizer, [row], 160)
    _, _, labels = collate([example], trainer.tokenizer.pad_token_id)
    learned = [t for t in labels[0].tolist() if t != IGNORE]
    assert trainer.tokenizer.decode(learned) == row["completion"] + trainer.tokenizer.eos_token
    assert labels[0, :example.prompt_tokens].eq(IGNORE).all()


def test_a_killed_training_resumes_to_the_same_weights(tmp_path: Path, data: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    args = dict(data=str(data), steps=12, save_every=5, lr=3e-3, **SMALL)
    Trainer.start(TrainArgs(out=str(tmp_path / "whole"), **args)).run()

    def kill_at_step_8(info) -> None:
        if info.step == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer.start(TrainArgs(out=str(tmp_path / "killed"), **args)).run(kill_at_step_8)
    state = json.loads((tmp_path / "killed" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 5
    resumed = Trainer.resume(tmp_path / "killed")
    assert resumed.step == 5
    resumed.run()
    whole = AutoModelForCausalLM.from_pretrained(tmp_path / "whole").state_dict()
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "killed").state_dict()
    assert all(torch.allclose(whole[k], again[k], atol=1e-6) for k in whole)


def test_fine_tuning_starts_from_the_given_model(tmp_path: Path, data: Path) -> None:
    first = Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "a"), steps=20, lr=3e-3, **SMALL))
    first.run()
    tuned = Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "b"), init=str(tmp_path / "a"), steps=2,
                                    context=160, batch_tokens=1280))
    assert tuned.args.peak_lr == 2e-4
    assert tuned.evaluate() == pytest.approx(first.evaluate(), rel=1e-4)


def test_cli_trains_and_reports(tmp_path: Path, data: Path) -> None:
    done = elm("train", "--data", str(data), "--out", "m", "--size", "0.1m", "--steps", "3", "--context", "160",
               "--batch-tokens", "1280", "--vocab-size", "300", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "model written to m" in done.stdout and "held-out loss" in done.stdout
    assert "held-out loss" in done.stderr  # the evaluation line during training


def test_cli_errors(tmp_path: Path, data: Path) -> None:
    (tmp_path / "notdata").mkdir()
    line = error_line(elm("train", "--data", "notdata", "--out", "m", cwd=tmp_path))
    assert "notdata is not a dataset directory" in line and "elm dataset diffs" in line
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    line = error_line(elm("train", "--data", str(data), "--out", "m", "--init", "./noweights", cwd=tmp_path))
    assert "cannot load model './noweights'" in line and "pass --init PATH" in line and "save_pretrained" in line
    line = error_line(elm("train", "--data", str(data), "--out", "m", "--size", "huge", cwd=tmp_path))
    assert "'huge'" in line and "0.1m" in line
    line = error_line(elm("train", "--resume", "nothing", cwd=tmp_path))
    assert "holds no training checkpoint" in line
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    line = error_line(elm("train", "--data", str(data), "--out", "full", cwd=tmp_path))
    assert "already exists" in line and (tmp_path / "full" / "x").read_text() == "keep"


def test_resume_of_a_finished_training_says_how_to_go_on(tmp_path: Path, data: Path) -> None:
    Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "m"), steps=2, **SMALL)).run()
    line = error_line(elm("train", "--resume", "m", cwd=tmp_path))
    assert "has finished" in line and "--init m" in line


def test_resume_refuses_changed_data(tmp_path: Path) -> None:
    data = tmp_path / "d"
    write_dataset(data, "diffs", {"train": toy_rows(40), "test": []}, {"runs": ["a"]})

    def stop(info) -> None:
        if info.step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer.start(TrainArgs(data=str(data), out=str(tmp_path / "m"), steps=6, save_every=2, **SMALL)).run(stop)
    manifest = json.loads((data / "elm_dataset.json").read_text())
    manifest["runs"] = ["b"]
    (data / "elm_dataset.json").write_text(json.dumps(manifest))
    line = error_line(elm("train", "--resume", "m", cwd=tmp_path))
    assert "changed since this training started" in line


def test_a_tokenizer_that_belongs_to_another_model_is_refused(tmp_path: Path, data: Path) -> None:
    from elm_llm.random_models import build_random_model, train_code_tokenizer

    tokenizer = train_code_tokenizer([r["prompt"] + r["completion"] for r in toy_rows(40)], vocab_size=400)
    model = build_random_model("gpt2", tokenizer, n_layer=1, n_embd=16, n_head=2, n_positions=256, vocab_size=64)
    model.save_pretrained(tmp_path / "mixed")
    tokenizer.save_pretrained(tmp_path / "mixed")
    line = error_line(elm("train", "--data", str(data), "--out", "m", "--init", "./mixed", "--context", "160",
                          cwd=tmp_path))
    assert "64 embeddings" in line and "belongs to another model" in line
    assert not (tmp_path / "m").exists()


def code_rows(n: int, offset: int = 0) -> list[dict]:
    """Corpus records (no prompt): functions of one pattern, some longer than the context."""
    rows = []
    for k in range(offset, offset + n):
        lines = 3 + k % 5 if k % 10 else 40  # every tenth row is longer than the context: cut into windows
        text = f"def g{k}(x):\n" + "".join(f"    x = x + {i}\n" for i in range(lines)) + "    return x\n"
        rows.append(dict(name=f"m/{k}.py", package="m", version="1", licence="MIT", text=text, prompt="",
                         completion=text, file_sha=f"{k:016x}"))
    return rows


def test_pretraining_on_code_and_commits_lowers_held_out_loss(tmp_path: Path, data: Path) -> None:
    from elm_train.trainer import encode

    code = tmp_path / "code"
    write_dataset(code, "code", {"train": code_rows(120), "test": code_rows(16, offset=1000)}, {"corpus_version": 1})
    trainer = Trainer.start(TrainArgs(data=[str(code), f"{data}:100"], out=str(tmp_path / "m"), steps=40,
                                      eval_every=20, lr=3e-3, **SMALL))
    assert len([r for r in trainer.train_rows if r["prompt"] == ""]) == 120
    assert len([r for r in trainer.train_rows if r["prompt"]]) == 100  # a sample of the diffs' 160
    long_row = code_rows(1, offset=10)[0]
    windows, too_long = encode(trainer.tokenizer, [long_row], 160)
    assert len(windows) >= 2 and too_long == 0 and all(len(w.ids) <= 160 for w in windows)
    ids = trainer.tokenizer(long_row["completion"], add_special_tokens=False)["input_ids"]
    assert sum(len(w.ids) for w in windows) == len(ids) + 2  # end-of-text before and after, nothing lost
    before = trainer.evaluate()
    recipe = trainer.run()
    assert recipe["final_eval_loss"] < 0.7 * before
    sources = recipe["data"]["sources"]
    assert [s["kind"] for s in sources] == ["code", "diffs"] and sources[1]["sampled_rows"] == 100
    resumed_args = json.loads((tmp_path / "m" / "training.json").read_text())["args"]
    assert resumed_args["data"] == [str(code.resolve()), f"{data.resolve()}:100"]
