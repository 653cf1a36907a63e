"""Training a causal LM on a dataset directory: from scratch (a byte-level BPE tokenizer
trained on the data, a GPT-2 of a named size) or from an existing model (fine-tuning).

Each example is a prompt and a completion; the loss covers the completion and the
end-of-text token after it, not the prompt (for diffs: only the diff, as the released
diff models were trained), unless ``loss="all"``: a model trained from scratch has never
read code, and learning the programs of the prompts too gives it more to learn from per
step. A tokenizer trained from scratch cuts text at lines by default (``pieces="lines"``),
so most lines of a program are one or a few tokens: sequences are about five times
shorter than with word pieces, and copying a line means copying a few tokens. Batches
hold up to ``batch_tokens`` tokens of examples of similar length; their order is a
function of the seed and the epoch, so a run resumed from a checkpoint continues
exactly where it stopped.

The output directory ends up a ``save_pretrained`` model directory (loadable with
``--model PATH``) plus ``training.json``, the recipe and the figures. While training it
holds ``checkpoint/`` (weights, optimiser, position), rewritten atomically every
``save_every`` steps, which ``elm train --resume`` continues from.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from elm_train.dataset_dir import DatasetError, load_split, read_manifest
from elm_train.sizes import SIZES, gpt2_config, size_names

CHECKPOINT = "checkpoint"
RECIPE = "training.json"
IGNORE = -100
TOKENIZER_CHARS = 20_000_000  # a tokenizer trained from scratch reads a sample of about this many characters


class TrainError(ValueError):
    """Training that cannot start or go on; the message names the input and what to do."""


class TrainArgs(BaseModel):
    """Everything that decides a training run (stored in the checkpoint and the recipe)."""

    model_config = ConfigDict(extra="forbid")

    data: list[str] = Field(description="dataset directories; ``DIR:ROWS`` takes a seeded sample of ROWS training "
                                         "rows of DIR")
    out: str
    init: Optional[str] = Field(None, description="model to fine-tune (path, shipped name or hub id)")
    size: str = Field("1m", description="named size when training from scratch")
    steps: Optional[int] = Field(None, ge=1)
    epochs: Optional[float] = Field(None, gt=0)
    lr: Optional[float] = Field(None, gt=0, description="peak learning rate (default 1e-3 from scratch, 2e-4 "
                                                        "fine-tuning)")
    warmup: float = Field(0.05, ge=0, lt=1, description="fraction of the steps with a linear warm-up")
    batch_tokens: int = Field(8192, ge=64, description="tokens per batch, padding included")
    context: int = Field(1024, ge=32, description="longest example in tokens; longer ones are left out")
    vocab_size: int = Field(4096, ge=300, description="tokenizer size when training from scratch")
    pieces: Literal["lines", "words"] = Field("lines", description="tokenizer from scratch: BPE merges within "
                                                                   "a line's text or within words")
    loss: Literal["completion", "all"] = Field("completion", description="tokens the loss covers: the "
                                                                         "completion (and end-of-text), or all")
    eval_every: Optional[int] = Field(None, ge=1, description="steps between held-out evaluations "
                                                              "(default: 10 per run)")
    save_every: Optional[int] = Field(None, ge=1, description="steps between checkpoints (default: eval_every)")
    eval_examples: int = Field(512, ge=1, description="held-out examples per evaluation")
    seed: int = 0
    device: str = "auto"
    weight_decay: float = Field(0.1, ge=0)
    grad_clip: float = Field(1.0, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)

    @field_validator("data", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):  # one directory (and checkpoints written before several were taken)
            return [str(value)]
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else value

    @model_validator(mode="after")
    def _check(self) -> "TrainArgs":
        if not self.data:
            raise ValueError("give at least one --data directory")
        for spec in self.data:
            data_source(spec)
        if self.init is None and self.size not in SIZES:
            raise ValueError(f"--size {self.size!r} is not a named size; use one of {size_names()}")
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give --steps or --epochs, not both")
        return self

    @property
    def peak_lr(self) -> float:
        return self.lr if self.lr is not None else (2e-4 if self.init else 1e-3)


@dataclass
class Example:
    ids: list[int]
    prompt_tokens: int


@dataclass
class StepInfo:
    """What a progress display shows after a step or an evaluation."""

    step: int
    total: int
    loss: float
    tokens_per_s: float
    lr: float
    eval_loss: float | None = None
    event: str = "step"  # step | eval | checkpoint | done


@dataclass
class History:
    train: list[tuple[int, float]] = field(default_factory=list)
    eval: list[tuple[int, float]] = field(default_factory=list)


# -- data ---------------------------------------------------------------------------
def data_source(spec: str) -> tuple[Path, int | None]:
    """``DIR`` or ``DIR:ROWS`` -> (directory, rows to sample or None for all)."""
    head, sep, tail = str(spec).rpartition(":")
    if sep and tail.isdigit() and head:
        if int(tail) < 1:
            raise ValueError(f"--data {spec}: ROWS must be at least 1")
        return Path(head), int(tail)
    return Path(spec), None


def data_fingerprint(data: str | list[str]) -> str:
    """A hash of the datasets' manifests (and row samples): resuming checks it is unchanged."""
    specs = [data] if isinstance(data, str) else list(data)
    parts = []
    for spec in specs:
        path, rows = data_source(spec)
        manifest = read_manifest(path)
        parts.append(json.dumps(manifest, sort_keys=True) + ("" if rows is None else f"|rows={rows}"))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def tokenizer_texts(rows: list[dict], max_chars: int, seed: int) -> list[str]:
    """A seeded sample of the training texts, about ``max_chars`` long in all, to train a
    tokenizer on (a large corpus is more than a 4,096-entry vocabulary needs)."""
    order = np.random.default_rng([seed, 7]).permutation(len(rows))
    texts, total = [], 0
    for i in order.tolist():
        text = rows[i]["prompt"] + rows[i]["completion"]
        texts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return texts


def encode(tokenizer: Any, rows: list[dict], context: int) -> tuple[list[Example], int]:
    """Token ids of each row (prompt, completion, end-of-text) and how many were too long.
    An empty prompt starts with the end-of-text token, so unconditional sampling has a start.
    A row without a prompt (plain text: a corpus file) longer than the context is cut into
    windows of ``context`` tokens; a row with a prompt that is too long is left out."""
    eos = tokenizer.eos_token_id
    examples: list[Example] = []
    too_long = 0
    prompts = tokenizer([r["prompt"] for r in rows], add_special_tokens=False)["input_ids"] if rows else []
    completions = tokenizer([r["completion"] for r in rows], add_special_tokens=False)["input_ids"] if rows else []
    for prompt, completion in zip(prompts, completions):
        prompt = list(prompt) or [eos]
        ids = prompt + list(completion) + [eos]
        if len(ids) > context:
            if prompt == [eos]:
                examples.extend(Example(ids[start:start + context], 1 if start == 0 else 0)
                                for start in range(0, len(ids), context) if len(ids) - start >= 8)
                continue
            too_long += 1
            continue
        examples.append(Example(ids, len(prompt)))
    return examples, too_long


def make_batches(examples: list[Example], batch_tokens: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices of each batch of one epoch: examples sorted by length (shuffled within a
    length), cut into batches of at most ``batch_tokens`` padded tokens, in shuffled order."""
    rng = np.random.default_rng([seed, epoch])
    order = sorted(rng.permutation(len(examples)).tolist(), key=lambda i: len(examples[i].ids))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = len(examples[i].ids)  # ascending order: the newest example is the longest
        if current and longest * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return [batches[k] for k in rng.permutation(len(batches))]


def collate(examples: list[Example], pad_id: int, loss: str = "completion"):
    import torch

    width = max(len(e.ids) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.ids)
        input_ids[row, :n] = torch.tensor(e.ids)
        first = 0 if loss == "all" else e.prompt_tokens
        labels[row, first:n] = torch.tensor(e.ids[first:])
        mask[row, :n] = 1
    return input_ids, mask, labels


# -- the run ------------------------------------------------------------------------
class Trainer:
    """One training run; ``Trainer.start(args)`` or ``Trainer.resume(out)``, then ``run()``."""

    def __init__(self, args: TrainArgs, state: dict[str, Any] | None) -> None:
        import torch

        from elm_llm.runtime import ModelError, resolve_device

        self.torch = torch
        self.args = args
        self.out = Path(args.out)
        self.sources = [data_source(spec) for spec in args.data]
        try:
            self.device = resolve_device(args.device)
        except ModelError as exc:
            raise TrainError(exc.worded("--device")) from None
        self.state = state or {}
        self.history = History(**{k: [tuple(x) for x in v] for k, v in self.state.get("history", {}).items()})
        self.train_rows: list[dict] = []
        self.test_rows: list[dict] = []
        per_source = max(1, args.eval_examples // len(self.sources))
        for number, (path, rows) in enumerate(self.sources):
            train = load_split(path, "train")
            if rows is not None and rows < len(train):
                pick = np.random.default_rng([args.seed, number]).choice(len(train), rows, replace=False)
                train = [train[i] for i in sorted(pick.tolist())]
            self.train_rows += train
            self.test_rows += load_split(path, "test")[:per_source]  # each source's held-out share
        names = ", ".join(str(p) for p, _ in self.sources)
        if not self.train_rows:
            raise TrainError(f"{names} has no training examples; export more runs or lower --holdout")
        source = Path(args.out) / CHECKPOINT if state else None
        self.tokenizer, self.model = self._build(source)
        self.train_examples, self.too_long = encode(self.tokenizer, self.train_rows, args.context)
        self.test_examples, _ = encode(self.tokenizer, self.test_rows[:args.eval_examples], args.context)
        if not self.train_examples:
            raise TrainError(f"every training example of {names} is longer than --context {args.context} "
                             "tokens; raise --context")
        vocab = self.model.get_input_embeddings().num_embeddings
        top = max(max(e.ids) for e in self.train_examples)
        if top >= vocab:
            raise TrainError(f"the tokenizer gives token id {top} but the model has {vocab} embeddings: the "
                             f"tokenizer of {args.init or args.out} belongs to another model; use a model "
                             "directory whose tokenizer and weights were saved together")
        self.batches_per_epoch = len(make_batches(self.train_examples, args.batch_tokens, args.seed, 0))
        if args.steps is not None:
            self.total_steps = args.steps
        else:
            self.total_steps = max(1, math.ceil((args.epochs or 3.0) * self.batches_per_epoch))
        self.eval_every = args.eval_every or max(1, self.total_steps // 10)
        self.save_every = args.save_every or self.eval_every
        self.model.to(self.device)
        self.optimizer = self._optimizer()
        if state:
            self.optimizer.load_state_dict(torch.load(Path(args.out) / CHECKPOINT / "optimizer.pt",
                                                      map_location=self.device, weights_only=True))
            torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        self.step = int(self.state.get("step", 0))
        self.seconds = float(self.state.get("seconds", 0.0))
        self.tokens_seen = int(self.state.get("tokens", 0))

    # -- construction -----------------------------------------------------------
    @classmethod
    def start(cls, args: TrainArgs) -> "Trainer":
        out = Path(args.out)
        if (out / CHECKPOINT).exists():
            raise TrainError(f"{out} holds an unfinished training; continue it with `elm train --resume {out}` "
                             "or choose another --out")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise TrainError(f"--out {out} already exists and is not empty; choose another directory "
                             "(nothing there was changed)")
        resolved = []
        for spec in args.data:
            path, rows = data_source(spec)
            read_manifest(path)
            # the data by absolute path: `elm train --resume` may run from another directory
            resolved.append(str(path.resolve()) + ("" if rows is None else f":{rows}"))
        return cls(args.model_copy(update={"data": resolved}), None)

    @classmethod
    def resume(cls, out: Path) -> "Trainer":
        out = Path(out)
        state_file = out / CHECKPOINT / "state.json"
        if not state_file.is_file():
            old = out / (CHECKPOINT + ".old")
            if (old / "state.json").is_file():  # killed while replacing the checkpoint
                old.rename(out / CHECKPOINT)
            elif (out / RECIPE).is_file():
                raise TrainError(f"the training in {out} has finished; train further with "
                                 f"`elm train --init {out} --data DIR --out NEW_DIR`")
            else:
                raise TrainError(f"{out} holds no training checkpoint; start one with `elm train --data DIR "
                                 f"--out {out}`")
        try:
            state = json.loads(state_file.read_text())
            args = TrainArgs(**{**state["args"], "out": str(out)})  # the directory may have moved
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TrainError(f"{state_file} cannot be read ({exc}); the checkpoint is damaged, start again "
                             "with another --out") from None
        if data_fingerprint(args.data) != state.get("data"):
            raise TrainError(f"the dataset {args.data} changed since this training started (its manifest "
                             "differs); resume with the data it started with, or start a new training")
        return cls(args, state)

    def _build(self, checkpoint: Path | None):
        from transformers import GPT2LMHeadModel

        from elm_llm.runtime import ModelError, load_causal_lm, quiet_transformers, train_code_tokenizer

        quiet_transformers()
        args = self.args
        if checkpoint is not None or args.init:
            try:
                tokenizer, model = load_causal_lm(str(checkpoint) if checkpoint is not None else args.init,
                                                  self.torch.float32, option="--init")
            except ModelError as exc:
                raise TrainError(exc.worded("--init")) from None
            if tokenizer.eos_token_id is None:
                raise TrainError(f"the tokenizer of --init {args.init!r} has no end-of-text token; pass a model "
                                 "whose tokenizer has one")
            return tokenizer, model
        texts = tokenizer_texts(self.train_rows, TOKENIZER_CHARS, args.seed)
        tokenizer = train_code_tokenizer(texts, vocab_size=args.vocab_size, pieces=args.pieces)
        self.torch.manual_seed(args.seed)
        config = gpt2_config(args.size, len(tokenizer), args.context, tokenizer.eos_token_id, args.dropout)
        return tokenizer, GPT2LMHeadModel(config)

    def _optimizer(self):
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            (decay if param.dim() >= 2 and "wpe" not in name else no_decay).append(param)
        return self.torch.optim.AdamW([{"params": decay, "weight_decay": self.args.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}],
                                      lr=self.args.peak_lr, betas=(0.9, 0.95))

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to a tenth of the peak."""
        peak, total = self.args.peak_lr, self.total_steps
        warm = int(self.args.warmup * total)
        if step < warm:
            return peak * (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    # -- the loop -----------------------------------------------------------------
    def _autocast(self):
        torch = self.torch
        if self.device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return torch.autocast(device_type="cpu", enabled=False)

    def evaluate(self) -> float | None:
        """Mean loss per completion token over the held-out examples (None without any)."""
        torch = self.torch
        if not self.test_examples:
            return None
        self.model.eval()
        total = count = 0.0
        with torch.inference_mode():
            for batch in make_batches(self.test_examples, self.args.batch_tokens, 0, 0):
                input_ids, mask, labels = collate([self.test_examples[i] for i in batch],
                                                  self.tokenizer.pad_token_id)
                labels = labels.to(self.device)
                with self._autocast():
                    logits = self.model(input_ids=input_ids.to(self.device),
                                        attention_mask=mask.to(self.device)).logits
                losses = torch.nn.functional.cross_entropy(
                    logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                    ignore_index=IGNORE, reduction="sum")
                total += float(losses)
                count += float((labels[:, 1:] != IGNORE).sum())
        self.model.train()
        return total / max(count, 1.0)

    def run(self, report: Callable[[StepInfo], None] = lambda info: None) -> dict[str, Any]:
        torch = self.torch
        self.model.train()
        epoch_batches: dict[int, list[list[int]]] = {}
        window_tokens, window_start = 0, time.monotonic()
        loss_avg: float | None = None
        if self.step == 0:  # from the first moment on, a killed training can be resumed
            self.save_checkpoint()
        while self.step < self.total_steps:
            epoch, position = divmod(self.step, self.batches_per_epoch)
            if epoch not in epoch_batches:
                epoch_batches = {epoch: make_batches(self.train_examples, self.args.batch_tokens, self.args.seed,
                                                     epoch)}
            batch = [self.train_examples[i] for i in epoch_batches[epoch][position]]
            input_ids, mask, labels = collate(batch, self.tokenizer.pad_token_id, self.args.loss)
            lr = self.lr_at(self.step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            started = time.monotonic()
            with self._autocast():
                loss = self.model(input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device),
                                  labels=labels.to(self.device)).loss
            if not torch.isfinite(loss):
                raise TrainError(f"the loss became {float(loss)} at step {self.step}; lower --lr (now "
                                 f"{self.args.peak_lr:g}) and resume from the last checkpoint with a new run")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)
            self.optimizer.step()
            self.step += 1
            tokens = int(mask.sum())
            self.tokens_seen += tokens
            self.seconds += time.monotonic() - started
            window_tokens += tokens
            value = float(loss.detach())
            loss_avg = value if loss_avg is None else 0.9 * loss_avg + 0.1 * value
            rate = window_tokens / max(time.monotonic() - window_start, 1e-9)
            if time.monotonic() - window_start > 10:
                window_tokens, window_start = 0, time.monotonic()
            report(StepInfo(self.step, self.total_steps, loss_avg, rate, lr))
            if self.step % 10 == 0 or self.step == self.total_steps:
                self.history.train.append((self.step, round(loss_avg, 5)))
            if self.step % self.eval_every == 0 or self.step == self.total_steps:
                held = self.evaluate()
                if held is not None:
                    self.history.eval.append((self.step, round(held, 5)))
                report(StepInfo(self.step, self.total_steps, loss_avg, rate, lr, eval_loss=held, event="eval"))
            if self.step % self.save_every == 0 and self.step < self.total_steps:
                self.save_checkpoint()
                report(StepInfo(self.step, self.total_steps, loss_avg, rate, lr, event="checkpoint"))
        recipe = self.finish()
        report(StepInfo(self.step, self.total_steps, loss_avg or 0.0, 0.0, 0.0,
                        eval_loss=recipe["final_eval_loss"], event="done"))
        return recipe

    # -- writing ------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"args": self.args.model_dump(), "data": data_fingerprint(self.args.data), "step": self.step,
                "seconds": self.seconds, "tokens": self.tokens_seen, "total_steps": self.total_steps,
                "history": {"train": self.history.train, "eval": self.history.eval},
                "torch_rng": self.torch.get_rng_state().tolist()}

    def save_checkpoint(self) -> None:
        """Write ``checkpoint/`` anew: under a temporary name, then swapped in, so a kill at
        any moment leaves a whole checkpoint (the new one or the one before)."""
        torch = self.torch
        ckpt = self.out / CHECKPOINT
        partial, old = self.out / (CHECKPOINT + ".partial"), self.out / (CHECKPOINT + ".old")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            self.model.save_pretrained(partial)
            self.tokenizer.save_pretrained(partial)
            torch.save(self.optimizer.state_dict(), partial / "optimizer.pt")
            (partial / "state.json").write_text(json.dumps(self._state()))
            if ckpt.exists():
                shutil.rmtree(old, ignore_errors=True)
                ckpt.rename(old)
            partial.rename(ckpt)
            shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise TrainError(f"cannot write a checkpoint to {ckpt}: {exc.strerror or exc}; free disk space, then "
                             f"`elm train --resume {self.out}`") from None

    def finish(self) -> dict[str, Any]:
        """Save the model directory and the recipe, then drop the checkpoint."""
        final_eval = self.history.eval[-1][1] if self.history.eval else None
        sources = []
        for path, rows in self.sources:
            manifest = read_manifest(path)
            sources.append({"path": str(path), "sampled_rows": rows, "kind": manifest.get("kind"),
                            "rows": manifest.get("rows"), "runs": manifest.get("runs"),
                            "filter": manifest.get("filter"), "threshold": manifest.get("threshold"),
                            "domain": manifest.get("domain"), "qd": manifest.get("qd"),
                            "sources": manifest.get("sources"), "mix": manifest.get("mix")})
        # one dataset: its description as before; several: each, in order
        data = dict(sources[0]) if len(sources) == 1 else {"sources": sources}
        data["fingerprint"] = data_fingerprint(self.args.data)
        recipe = {
            "args": self.args.model_dump(),
            "data": data,
            "examples": {"train": len(self.train_examples), "too_long": self.too_long,
                         "held_out_evaluated": len(self.test_examples)},
            "model": {"type": self.model.config.model_type, "parameters": self.parameters,
                      "vocab_size": len(self.tokenizer),
                      "context": getattr(self.model.config, "n_positions", None)},
            "steps": self.step, "tokens": self.tokens_seen, "train_seconds": round(self.seconds, 1),
            "tokens_per_s": round(self.tokens_seen / max(self.seconds, 1e-9), 1), "device": self.device,
            "final_train_loss": self.history.train[-1][1] if self.history.train else None,
            "final_eval_loss": final_eval,
            "history": {"train": self.history.train, "eval": self.history.eval},
        }
        self.out.mkdir(parents=True, exist_ok=True)
        self.model.generation_config.pad_token_id = self.tokenizer.pad_token_id
        self.model.generation_config.eos_token_id = self.tokenizer.eos_token_id
        lengths = [len(e.ids) - e.prompt_tokens for e in self.train_examples]
        prompts = [e.prompt_tokens for e in self.train_examples]
        room = self.args.context - int(np.median(prompts))  # what a typical prompt leaves of the context
        self.model.generation_config.max_new_tokens = int(min(2 * np.percentile(lengths, 99), room))
        self.model.save_pretrained(self.out)
        self.tokenizer.save_pretrained(self.out)
        (self.out / RECIPE).write_text(json.dumps(recipe, indent=2) + "\n")
        shutil.rmtree(self.out / CHECKPOINT, ignore_errors=True)
        return recipe


__all__ = ["DatasetError", "StepInfo", "TrainArgs", "TrainError", "Trainer"]
