"""PPO for a language model that writes programs for a condition (the ELM paper's Stage 3).

Everything in one module, in the order it runs:

1. **Policy**: the Stage-2 model; the condition enters through a terrain embedding network
   (``ten.py``) whose vector is added to the input embedding of every position.
   The TEN starts at zero, so the policy starts as the Stage-2 model exactly.
2. **Sampling**: token by token with a KV cache, from ``softmax(logits / temperature)``;
   a program ends at end-of-text or after ``max_new_tokens``.
3. **Reward**: the fitness under the condition from the sandboxed simulation, divided by
   ``reward_scale``; a program that is not valid (does not parse, does not run, breaks the
   domain's rules) gets ``invalid_reward``. Each token also pays
   ``kl_coef * (log pi(token) - log pi_ref(token))``, the per-token KL estimate to the
   frozen Stage-2 model, so the policy stays near what it learnt from data.
4. **Value network**: a separate copy of the language model with its own TEN and a scalar
   head on the last hidden state, one value per token position.
5. **GAE** (gamma, lambda) over the tokens, advantages whitened over the batch (or per
   condition: ``whiten``).
6. **PPO update**: ``epochs`` passes over the batch in ``minibatches``; the clipped policy
   loss and the clipped value loss, each with its own Adam optimiser.

TRL is not used: its PPO trainer owns the training loop and asks for a reward model,
while here the reward is a sandboxed simulation that elm's own loop (``elmcore.learning``)
runs between sampling and update, recording every sample in the run store.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from elmcore import Child, ConditionalLearner, Domain, Evaluation, Outcome, PluginConfig


class PPOConfig(PluginConfig):
    model: str = Field("", description="the Stage-2 model: a directory made by `elm train` on programs, or a hub id")
    ten: Literal["discrete", "vision"] = Field("discrete", description="terrain embedding network")
    ten_backbone: str | None = Field(None, description="vision: a TorchScript image model (B,3,S,S) -> (B,F) "
                                                       "used frozen under the TEN (default: a small CNN)")
    image_size: int = Field(64, ge=16, le=512, description="vision: pixels per side of a condition's picture")
    max_new_tokens: int = Field(512, ge=1, description="longest program in tokens (and the model's own limit)")
    temperature: float = Field(0.7, gt=0, description="sampling temperature: the policy is the Stage-2 model's "
                                                      "tempered distribution (at 1.0 a small model writes few "
                                                      "programs that parse)")
    lr: float = Field(1e-5, gt=0, description="policy learning rate (the language model): at 1e-4 one update "
                                               "moved a 1M Stage-2 model 3-6 nats per program from where it started")
    ten_lr: float = Field(1e-3, gt=0, description="learning rate of the TENs (they start from nothing)")
    value_lr: float = Field(1e-4, gt=0, description="value network learning rate")
    epochs: int = Field(4, ge=1, description="PPO passes over each iteration's samples")
    minibatches: int = Field(4, ge=1, description="minibatches per pass")
    clip: float = Field(0.2, gt=0, description="policy ratio clip")
    value_clip: float = Field(0.2, gt=0, description="value clip, in reward units")
    gamma: float = Field(1.0, ge=0, le=1, description="discount per token")
    lam: float = Field(0.95, ge=0, le=1, description="GAE lambda")
    whiten: Literal["batch", "condition"] = Field(
        "batch", description="advantages are whitened over the whole batch, or per condition (each "
                             "condition's samples then weigh alike in the update, however large its rewards)")
    kl_coef: float = Field(0.05, ge=0, description="weight of the per-token KL to the Stage-2 model in the reward")
    reward_scale: float = Field(100.0, gt=0, description="fitness is divided by this to make the reward")
    invalid_reward: float = Field(-1.0, description="reward of a program that is not valid")
    max_grad_norm: float = Field(1.0, gt=0)
    batch_size: int = Field(64, ge=1, description="sequences per forward pass")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")


@dataclass
class Rollout:
    """One iteration's samples, kept from ``sample`` to ``update``."""

    condition: np.ndarray  # (N,) condition indices
    tokens: list[list[int]]  # the actions of each sample, end-of-text included when written
    ref_logprobs: list[np.ndarray]  # log pi_ref of each action
    logprobs: list[np.ndarray]  # log pi of each action, the policy before the update


# -- pure functions (tested on hand-computed cases) ------------------------------------------
def token_rewards(logprobs: np.ndarray, ref_logprobs: np.ndarray, reward: float, kl_coef: float) -> np.ndarray:
    """Per-token rewards of one sample: the KL penalty on every token, the reward on the last."""
    rewards = -kl_coef * (logprobs - ref_logprobs)
    rewards[-1] += reward
    return rewards


def gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and returns of one sample; the state after the last token is terminal."""
    advantages = np.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(rewards) else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages, advantages + values


def whiten(advantages: Sequence[np.ndarray], groups: np.ndarray) -> list[np.ndarray]:
    """Each sample's token advantages shifted and scaled by the mean and standard deviation of
    all the tokens of its group (its condition, or one group for the batch)."""
    out: list[np.ndarray] = [np.empty(0)] * len(advantages)
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        flat = np.concatenate([advantages[i] for i in members])
        mean, std = float(flat.mean()), float(flat.std()) + 1e-8
        for i in members:
            out[i] = (advantages[i] - mean) / std
    return out


def policy_loss(logprobs, old_logprobs, advantages, mask, clip: float):
    """PPO's clipped surrogate (to minimise), the fraction of clipped tokens and the approximate KL."""
    import torch

    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    count = mask.sum().clamp(min=1)
    loss = (torch.maximum(unclipped, clipped) * mask).sum() / count
    clipfrac = (((ratio - 1.0).abs() > clip).float() * mask).sum() / count
    approx_kl = (((ratio - 1.0) - (logprobs - old_logprobs)) * mask).sum() / count
    return loss, clipfrac, approx_kl


def value_loss(values, old_values, returns, mask, clip: float):
    """The clipped value loss (to minimise)."""
    import torch

    clipped = old_values + torch.clamp(values - old_values, -clip, clip)
    worst = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * (worst * mask).sum() / mask.sum().clamp(min=1)


# -- the learner ---------------------------------------------------------------------------
class PPOLearner(ConditionalLearner):
    name = "ppo"
    description = "PPO over a Stage-2 language model with a terrain embedding network (discrete or vision)"
    Config = PPOConfig
    config: PPOConfig
    default = True
    cli_options = ("model", "ten")

    def __init__(self, config: PPOConfig | None, domain: Domain, conditions: Sequence[str]) -> None:
        super().__init__(config, domain, conditions)
        if not self.config.model.strip():
            raise ValueError("no model given; pass --model with the Stage-2 model (a directory made by `elm train`)")
        self._loaded = False
        self._rollout: Rollout | None = None

    # -- models ------------------------------------------------------------------
    def prepare(self) -> None:
        if self._loaded:
            return
        import torch

        from elm_llm.runtime import context_length, load_causal_lm, resolve_device
        from elm_ppo.ten import make_ten

        self.torch = torch
        self.device = resolve_device(self.config.device, option="learner.device")
        self.tokenizer, self.policy = load_causal_lm(self.config.model, torch.float32, option="--model")
        self.start_id = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None \
            else self.tokenizer.eos_token_id
        self.eos_id = self.tokenizer.eos_token_id
        if self.start_id is None or self.eos_id is None:
            raise ValueError(f"model {self.config.model!r}: its tokenizer has no end-of-text token to start and end "
                             "programs with")
        embeddings = self.policy.get_input_embeddings()
        if embeddings is None:
            raise ValueError(f"model {self.config.model!r} takes no input embeddings, so no TEN can condition it")
        width = embeddings.embedding_dim
        draw = None
        if self.config.ten == "vision":
            try:
                self.domain.draw_condition(self.conditions[0], 16)
            except ValueError as exc:
                raise ValueError(f"ten 'vision': {exc}; use ten discrete") from None
            draw = self.domain.draw_condition
        torch.manual_seed(0)
        self.policy_ten = make_ten(self.config.ten, self.conditions, width, draw, self.config.image_size,
                                   self.config.ten_backbone)
        self.value_ten = copy.deepcopy(self.policy_ten)
        self.reference = copy.deepcopy(self.policy).eval()
        for p in self.reference.parameters():
            p.requires_grad_(False)
        self.value_body = copy.deepcopy(self.policy)
        self.value_head = torch.nn.Linear(width, 1)
        torch.nn.init.zeros_(self.value_head.weight)
        torch.nn.init.zeros_(self.value_head.bias)
        for module in (self.policy, self.policy_ten, self.value_body, self.value_ten, self.value_head,
                       self.reference):
            module.to(self.device)
        self.policy_opt = torch.optim.Adam([
            {"params": self.policy.parameters(), "lr": self.config.lr},
            {"params": [p for p in self.policy_ten.parameters() if p.requires_grad], "lr": self.config.ten_lr}])
        self.value_opt = torch.optim.Adam([
            {"params": list(self.value_body.parameters()) + list(self.value_head.parameters()),
             "lr": self.config.value_lr},
            {"params": [p for p in self.value_ten.parameters() if p.requires_grad], "lr": self.config.ten_lr}])
        context = context_length(self.policy.config)
        own = getattr(self.policy.generation_config, "max_new_tokens", None)
        self.max_new_tokens = min(self.config.max_new_tokens, own or self.config.max_new_tokens, context - 1)
        self._loaded = True

    def _embed(self, model, ten, ids, condition):
        """Input embeddings of ``ids`` (B, T) with the condition's vector added to every position."""
        return model.get_input_embeddings()(ids) + ten(condition)[:, None, :]

    def _forward(self, model, ten, ids, mask, condition, hidden: bool = False):
        return model(inputs_embeds=self._embed(model, ten, ids, condition), attention_mask=mask,
                     output_hidden_states=hidden)

    def _batch(self, indices: Sequence[int], rollout: Rollout):
        """Right-padded inputs [start, a_1 .. a_{T-1}], actions [a_1 .. a_T] and the mask."""
        torch = self.torch
        width = max(len(rollout.tokens[i]) for i in indices)
        ids = torch.full((len(indices), width), self.eos_id, dtype=torch.long)
        actions = torch.full((len(indices), width), self.eos_id, dtype=torch.long)
        mask = torch.zeros((len(indices), width), dtype=torch.float32)
        for row, i in enumerate(indices):
            tokens = rollout.tokens[i]
            ids[row, 0] = self.start_id
            ids[row, 1:len(tokens)] = torch.tensor(tokens[:-1], dtype=torch.long)
            actions[row, :len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            mask[row, :len(tokens)] = 1.0
        condition = torch.as_tensor(rollout.condition[list(indices)], dtype=torch.long)
        return ids.to(self.device), actions.to(self.device), mask.to(self.device), condition.to(self.device)

    def _logprobs(self, logits, actions):
        logp = self.torch.log_softmax(logits.float() / self.config.temperature, dim=-1)
        return logp.gather(-1, actions[..., None])[..., 0]

    # -- sampling ----------------------------------------------------------------
    def sample(self, conditions: Sequence[str], rng: np.random.Generator) -> list[Child]:
        self.prepare()
        torch = self.torch
        index = {c: i for i, c in enumerate(self.conditions)}
        condition = np.array([index[c] for c in conditions], dtype=np.int64)
        generator = torch.Generator(device=self.device).manual_seed(int(rng.integers(0, 2**62)))
        tokens: list[list[int]] = []
        self.policy.eval()
        with torch.inference_mode():
            for start in range(0, len(conditions), self.config.batch_size):
                tokens += self._generate(condition[start:start + self.config.batch_size], generator)
        rollout = Rollout(condition, tokens, [], [])
        # by full forward passes: the same arithmetic as the update's, so the first ratio is exactly 1
        rollout.ref_logprobs, rollout.logprobs = self._scores(rollout)
        self._rollout = rollout
        return [self._child(t, lp, ref) for t, lp, ref in zip(tokens, rollout.logprobs, rollout.ref_logprobs)]

    def _generate(self, condition: np.ndarray, generator) -> list[list[int]]:
        torch = self.torch
        n = len(condition)
        ids = torch.full((n, 1), self.start_id, dtype=torch.long, device=self.device)
        cond = torch.as_tensor(condition, device=self.device)
        # transformers 5 names the KV cache `cache`; earlier versions `past_key_values`
        cache_arg = "cache" if "cache" in inspect.signature(self.policy.forward).parameters else "past_key_values"
        mask = torch.ones((n, 1), dtype=torch.long, device=self.device)
        out = self.policy(inputs_embeds=self._embed(self.policy, self.policy_ten, ids, cond), attention_mask=mask,
                          use_cache=True)
        cache, logits = getattr(out, cache_arg), out.logits[:, -1]
        done = torch.zeros(n, dtype=torch.bool, device=self.device)
        steps = []
        for _ in range(self.max_new_tokens):
            probs = torch.softmax(logits.float() / self.config.temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator)[:, 0]
            token = torch.where(done, torch.full_like(token, self.eos_id), token)
            steps.append(token)
            done |= token == self.eos_id
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones((n, 1), dtype=torch.long, device=self.device)], dim=1)
            out = self.policy(inputs_embeds=self._embed(self.policy, self.policy_ten, token[:, None], cond),
                              attention_mask=mask, use_cache=True, **{cache_arg: cache})
            cache, logits = getattr(out, cache_arg), out.logits[:, -1]
        table = torch.stack(steps, dim=1).tolist()
        result = []
        for row in table:
            end = row.index(self.eos_id) + 1 if self.eos_id in row else len(row)
            result.append(row[:end])  # up to and with end-of-text: ending is an action too
        return result

    def _scores(self, rollout: Rollout) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-token log-probabilities of the reference model and of the policy."""
        torch = self.torch
        ref, pol = [], []
        with torch.inference_mode():
            for start in range(0, len(rollout.tokens), self.config.batch_size):
                rows = list(range(start, min(start + self.config.batch_size, len(rollout.tokens))))
                ids, actions, mask, condition = self._batch(rows, rollout)
                ref_lp = self._logprobs(self.reference(input_ids=ids, attention_mask=mask).logits, actions)
                pol_lp = self._logprobs(self._forward(self.policy, self.policy_ten, ids, mask, condition).logits,
                                        actions)
                for row, i in enumerate(rows):
                    n = len(rollout.tokens[i])
                    ref.append(ref_lp[row, :n].cpu().numpy())
                    pol.append(pol_lp[row, :n].cpu().numpy())
        return ref, pol

    def _child(self, tokens: list[int], logprobs: np.ndarray, ref_logprobs: np.ndarray) -> Child:
        from elm_llm.programs import syntax_problem

        ended = bool(tokens) and tokens[-1] == self.eos_id
        text = self.tokenizer.decode(tokens[:-1] if ended else tokens, skip_special_tokens=False)
        meta = {"tokens": len(tokens), "kl": round(float(np.sum(logprobs - ref_logprobs)), 5), "ended": ended}
        child = Child(program=None, parent_id=None, operator=self.name, completion=text, meta=meta)
        if not text.strip():
            child.outcome, child.reason = Outcome.NO_EDIT, "empty program"
        elif (problem := syntax_problem(text)) is not None:
            child.outcome, child.reason = Outcome.EDIT_FAILED, f"program does not parse: {problem}"
        else:
            child.program = text
        return child

    # -- learning ----------------------------------------------------------------
    def rewards(self, evaluations: Sequence[Evaluation]) -> list[float]:
        return [e.fitness / self.config.reward_scale if e.outcome is Outcome.VALID and e.fitness is not None
                else self.config.invalid_reward for e in evaluations]

    def update(self, evaluations: Sequence[Evaluation], rng: np.random.Generator) -> dict[str, float]:
        torch = self.torch
        rollout = self._rollout
        if rollout is None or len(evaluations) != len(rollout.tokens):
            raise ValueError("update() needs the evaluations of the last sample() call, in its order")
        rewards = self.rewards(evaluations)
        n = len(rollout.tokens)
        old = rollout.logprobs
        values = self._values(rollout)
        advantages, returns, kls = [], [], []
        for i in range(n):
            token_r = token_rewards(old[i], rollout.ref_logprobs[i], rewards[i], self.config.kl_coef)
            adv, ret = gae(token_r, values[i], self.config.gamma, self.config.lam)
            advantages.append(adv)
            returns.append(ret)
            kls.append(float(np.sum(old[i] - rollout.ref_logprobs[i])))
        advantages = whiten(advantages, rollout.condition if self.config.whiten == "condition" else np.zeros(n))
        self.policy.train()
        self.value_body.train()
        sums: dict[str, float] = {"policy_loss": 0.0, "value_loss": 0.0, "clipfrac": 0.0, "approx_kl": 0.0}
        steps = 0
        size = max(1, int(np.ceil(n / self.config.minibatches)))
        for _ in range(self.config.epochs):
            order = rng.permutation(n)
            for start in range(0, n, size):
                rows = order[start:start + size].tolist()
                ids, actions, mask, condition = self._batch(rows, rollout)
                width = ids.shape[1]

                def padded(arrays):
                    out = torch.zeros((len(rows), width), dtype=torch.float32)
                    for r, i in enumerate(rows):
                        out[r, :len(arrays[i])] = torch.as_tensor(arrays[i], dtype=torch.float32)
                    return out.to(self.device)

                logprobs = self._logprobs(self._forward(self.policy, self.policy_ten, ids, mask, condition).logits,
                                          actions)
                p_loss, clipfrac, approx_kl = policy_loss(logprobs, padded(old), padded(advantages), mask,
                                                          self.config.clip)
                self._step(self.policy_opt, p_loss)
                hidden = self._forward(self.value_body, self.value_ten, ids, mask, condition,
                                       hidden=True).hidden_states[-1]
                v_loss = value_loss(self.value_head(hidden)[..., 0], padded(values), padded(returns), mask,
                                    self.config.value_clip)
                self._step(self.value_opt, v_loss)
                for key, value in (("policy_loss", p_loss), ("value_loss", v_loss), ("clipfrac", clipfrac),
                                   ("approx_kl", approx_kl)):
                    sums[key] += float(value.detach())
                steps += 1
        self.policy.eval()
        self.value_body.eval()
        self._rollout = None
        stats = {k: round(v / max(steps, 1), 6) for k, v in sums.items()}
        stats.update(kl=round(float(np.mean(kls)), 6), reward_mean=round(float(np.mean(rewards)), 6),
                     tokens_mean=round(float(np.mean([len(t) for t in rollout.tokens])), 2))
        return stats

    def _step(self, optimizer, loss) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]],
                                            self.config.max_grad_norm)
        optimizer.step()

    def _values(self, rollout: Rollout) -> list[np.ndarray]:
        torch = self.torch
        values = []
        with torch.inference_mode():
            for start in range(0, len(rollout.tokens), self.config.batch_size):
                rows = list(range(start, min(start + self.config.batch_size, len(rollout.tokens))))
                ids, _, mask, condition = self._batch(rows, rollout)
                hidden = self._forward(self.value_body, self.value_ten, ids, mask, condition,
                                       hidden=True).hidden_states[-1]
                v = self.value_head(hidden)[..., 0]
                for row, i in enumerate(rows):
                    values.append(v[row, :len(rollout.tokens[i])].float().cpu().numpy())
        return values

    # -- state -------------------------------------------------------------------
    def _modules(self) -> dict[str, Any]:
        return {"policy": self.policy, "policy_ten": self.policy_ten, "value_body": self.value_body,
                "value_ten": self.value_ten, "value_head": self.value_head, "policy_opt": self.policy_opt,
                "value_opt": self.value_opt}

    def save(self, path: Path) -> None:
        self.prepare()
        state = {name: module.state_dict() for name, module in self._modules().items()}
        self.torch.save(state, Path(path) / "ppo.pt")

    def load(self, path: Path) -> None:
        self.prepare()
        state = self.torch.load(Path(path) / "ppo.pt", map_location=self.device, weights_only=True)
        for name, module in self._modules().items():
            module.load_state_dict(state[name])

    def close(self) -> None:
        self._rollout = None
